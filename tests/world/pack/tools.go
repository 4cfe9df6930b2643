//go:build tools

// pack's command, so that `go mod tidy` keeps what it needs.
package tools

import _ "github.com/buildpacks/pack"
