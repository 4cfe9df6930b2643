complete --keep-order --exclusive --command cnb --arguments "(COMPLETE=fish cnb -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
