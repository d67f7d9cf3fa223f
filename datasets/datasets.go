// Package datasets locates LoRA Lab's committed bilingual (中文/English) chat datasets:
// pretrain (the tiny base model's corpus), sft_recall (replies that depend on facts stated
// turns earlier) and sft_identity (the assistant becomes 小灵 / Xiaoling, made by LoRA Lab).
// Each lives in <Dir()>/<name>/ as train.parquet, validation.parquet and a README.md card.
// The files are made by datasets/cmd/gendata (package datasets/gen); nothing is embedded.
package datasets

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Dataset names.
const (
	Pretrain    = "pretrain"
	SFTRecall   = "sft_recall"
	SFTIdentity = "sft_identity"
)

// Split names.
const (
	Train      = "train"
	Validation = "validation"
)

// EnvDir names the environment variable that, when set, overrides the datasets folder.
const EnvDir = "LORALAB_DATASETS"

// Names returns the dataset names.
func Names() []string { return []string{Pretrain, SFTRecall, SFTIdentity} }

// Splits returns the split names.
func Splits() []string { return []string{Train, Validation} }

// Dir returns the absolute path of the datasets folder: $LORALAB_DATASETS when set,
// otherwise the folder of this source file (found with runtime.Caller, so it works from
// `go test`, `go run` and GoNB notebooks inside the repository).
func Dir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		abs, err := filepath.Abs(d)
		if err != nil {
			return "", fmt.Errorf("datasets: $%s=%q: %w", EnvDir, d, err)
		}
		return abs, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		// A binary built with -trimpath records module-relative source paths.
		return "", errors.New("datasets: cannot find the source folder (binary built with -trimpath?); set $" + EnvDir)
	}
	return filepath.Dir(file), nil
}

func check(name, split string) error {
	okName, okSplit := false, split == ""
	for _, n := range Names() {
		okName = okName || n == name
	}
	for _, s := range Splits() {
		okSplit = okSplit || s == split
	}
	if !okName {
		return fmt.Errorf("datasets: unknown dataset %q (have %v)", name, Names())
	}
	if !okSplit {
		return fmt.Errorf("datasets: unknown split %q (have %v)", split, Splits())
	}
	return nil
}

// Path returns the Parquet file of a dataset split, e.g. Path(SFTRecall, Train) →
// <Dir>/sft_recall/train.parquet. It is an error if the name or split is unknown or the file
// is missing.
func Path(name, split string) (string, error) {
	if err := check(name, split); err != nil {
		return "", err
	}
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, name, split+".parquet")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("datasets: %s/%s: %w (regenerate with `go run ./datasets/cmd/gendata -out datasets`)", name, split, err)
	}
	return p, nil
}

// CardPath returns the dataset card (README.md) of a dataset.
func CardPath(name string) (string, error) {
	if err := check(name, ""); err != nil {
		return "", err
	}
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, name, "README.md")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("datasets: card of %s: %w", name, err)
	}
	return p, nil
}
