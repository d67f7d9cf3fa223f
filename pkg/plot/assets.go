package plot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// EChartsVersion is the ECharts release the setup script installs from npm; go-echarts
// v2.6.7 emits options for ECharts 5.
const EChartsVersion = "5.6.0"

// EChartsEnv names a file to use instead of the npm-installed ECharts bundle.
const EChartsEnv = "LORALAB_ECHARTS_JS"

// CacheDir is where LoRA Lab keeps what the setup script fetches with npm:
// $LORALAB_CACHE, else $XDG_CACHE_HOME/loralab, else ~/.cache/loralab.
func CacheDir() string {
	if d := os.Getenv("LORALAB_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "loralab")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".cache", "loralab")
	}
	return filepath.Join(os.TempDir(), "loralab-cache")
}

// EChartsPaths lists, in order, the places searched for echarts.min.js.
func EChartsPaths() []string {
	var paths []string
	if p := os.Getenv(EChartsEnv); p != "" {
		paths = append(paths, p)
	}
	rel := filepath.Join("npm", "node_modules", "echarts", "dist", "echarts.min.js")
	paths = append(paths, filepath.Join(CacheDir(), rel))
	if _, file, _, ok := runtime.Caller(0); ok {
		// <repo>/pkg/plot/assets.go -> <repo>/.cache/npm/...
		paths = append(paths, filepath.Join(filepath.Dir(file), "..", "..", ".cache", rel))
	}
	return paths
}

var (
	echartsOnce sync.Once
	echartsJS   string
	echartsErr  error
)

// EChartsJS returns the ECharts library source, read once from the first of EChartsPaths
// that exists. Charts never load it from a CDN: `make lab` (docker/setup.sh) installs it.
func EChartsJS() (string, error) {
	echartsOnce.Do(func() {
		for _, p := range EChartsPaths() {
			b, err := os.ReadFile(p)
			if err == nil {
				if len(b) < 1000 {
					echartsErr = fmt.Errorf("%s: only %d bytes, not an ECharts bundle", p, len(b))
					return
				}
				echartsJS = string(b)
				return
			}
			if !errors.Is(err, os.ErrNotExist) {
				echartsErr = fmt.Errorf("reading ECharts bundle: %w", err)
				return
			}
		}
		echartsErr = fmt.Errorf("ECharts %s not found (searched %v): run `make lab` or "+
			"`npm install --prefix %s echarts@%s`, or set $%s",
			EChartsVersion, EChartsPaths(), filepath.Join(CacheDir(), "npm"), EChartsVersion, EChartsEnv)
	})
	return echartsJS, echartsErr
}
