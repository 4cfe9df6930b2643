//go:build tools

// The lifecycle's commands, so that `go mod tidy` keeps what they need.
package main

import (
	_ "github.com/buildpacks/lifecycle/cmd/launcher"
	_ "github.com/buildpacks/lifecycle/cmd/lifecycle"
)
