//go:build tools

// kube-apiserver's command, so that `go mod tidy` keeps what it needs.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
