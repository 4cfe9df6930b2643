// Prints the lifecycle descriptor (lifecycle.toml) of the pinned lifecycle, from the API
// lists compiled into it, in the format of the lifecycle's own release archives.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/buildpacks/lifecycle/api"
)

func list(l api.List) string {
	items := make([]string, 0, len(l))
	for _, v := range l {
		items = append(items, fmt.Sprintf("%q", v.String()))
	}
	return "[" + strings.Join(items, ", ") + "]"
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: descriptor <lifecycle version>")
		os.Exit(2)
	}
	fmt.Printf(`[apis]
[apis.buildpack]
  deprecated = %s
  supported = %s
[apis.platform]
  deprecated = %s
  supported = %s

[api]
  platform = %q
  buildpack = %q

[lifecycle]
  version = %q
`,
		list(api.Buildpack.Deprecated), list(api.Buildpack.Supported),
		list(api.Platform.Deprecated), list(api.Platform.Supported),
		api.Platform.Supported[0].String(), api.Buildpack.Supported[0].String(),
		os.Args[1])
}
