//go:build !noxla

package backend

import (
	"slices"

	// The XLA backend without its auto-installer: plugins are only used when already installed.
	"github.com/gomlx/go-xla/compute/xla"
)

const xlaCompiled = true

// findPJRTPlugin returns the preferred installed PJRT plugin ("cuda" first, then "cpu", then any).
func findPJRTPlugin() (string, bool) {
	plugins := xla.GetAvailablePlugins()
	for _, p := range []string{"cuda", "cpu"} {
		if slices.Contains(plugins, p) {
			return p, true
		}
	}
	if len(plugins) > 0 {
		return plugins[0], true
	}
	return "", false
}
