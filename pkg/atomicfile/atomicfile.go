// Package atomicfile writes files so that a reader (or a crash) never sees half of one: the
// content goes to a temporary file in the same folder, which is renamed over the target only
// once it is complete. On any error the temporary file is removed and the old file, if any,
// is left as it was.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Mode is the permission of the files written (before the umask).
const Mode = 0o644

// Write writes data to path atomically.
func Write(path string, data []byte) error {
	return WriteWith(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteWith streams the content that fn writes (through a buffer) to path atomically.
func WriteWith(path string, fn func(w io.Writer) error) error {
	tmp, err := writeTemp(path, fn)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// writeTemp writes what fn writes into a complete, synced temporary file beside path and
// returns its name.
func writeTemp(path string, fn func(w io.Writer) error) (tmp string, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	name := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(name)
			err = fmt.Errorf("writing %s: %w", path, err)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = fn(bw); err != nil {
		return "", err
	}
	if err = bw.Flush(); err != nil {
		return "", err
	}
	if err = f.Chmod(Mode); err != nil {
		return "", err
	}
	if err = f.Sync(); err != nil { // the data is on disk before the name points at it
		return "", err
	}
	return name, f.Close()
}
