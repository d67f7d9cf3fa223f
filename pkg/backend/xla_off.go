//go:build noxla

package backend

const xlaCompiled = false

func findPJRTPlugin() (string, bool) { return "", false }
