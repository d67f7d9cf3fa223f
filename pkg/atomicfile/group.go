package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Group writes several files that belong together (an adapter's config and weights) so that
// they change together: each is first written completely to a temporary file, and only when
// all are written does Commit put them in place. If any write fails, or a target is in the way
// (a directory), nothing is changed; if a rename fails part way, the files already replaced
// get their old content back. Abort (safe after Commit) removes what was not committed.
type Group struct {
	paths, tmps []string
	err         error
}

// Write adds a file to the group; its content is written now, to a temporary file. After a
// failed Write the group only records the error, which Commit returns.
func (g *Group) Write(path string, fn func(w io.Writer) error) {
	if g.err != nil {
		return
	}
	tmp, err := writeTemp(path, fn)
	if err != nil {
		g.err = err
		return
	}
	g.paths, g.tmps = append(g.paths, path), append(g.tmps, tmp)
}

// Commit renames every file of the group into place, or changes nothing and says why.
func (g *Group) Commit() error {
	if g.err != nil {
		g.Abort()
		return g.err
	}
	for _, p := range g.paths {
		if st, err := os.Lstat(p); err == nil && !st.Mode().IsRegular() {
			g.Abort()
			return fmt.Errorf("writing %s: it exists and is not a regular file", p)
		}
	}
	// Keep the old files under backup names (hard links) until every new one is in place.
	backups := make([]string, len(g.paths))
	defer func() {
		for _, b := range backups {
			if b != "" {
				os.Remove(b)
			}
		}
	}()
	for i, p := range g.paths {
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		b := g.tmps[i] + ".old"
		if err := os.Link(p, b); err != nil {
			g.Abort()
			return fmt.Errorf("writing %s: keeping the old file: %w", p, err)
		}
		backups[i] = b
	}
	for i, p := range g.paths {
		if err := os.Rename(g.tmps[i], p); err != nil {
			// Put back what was already replaced.
			var undo error
			for j := range i {
				if backups[j] != "" {
					undo = errors.Join(undo, os.Rename(backups[j], g.paths[j]))
					backups[j] = ""
				} else {
					undo = errors.Join(undo, os.Remove(g.paths[j]))
				}
			}
			g.tmps = g.tmps[i:]
			g.Abort()
			return errors.Join(fmt.Errorf("writing %s: %w", p, err), undo)
		}
	}
	g.tmps = nil
	return nil
}

// Abort removes the temporary files not yet committed.
func (g *Group) Abort() {
	for _, t := range g.tmps {
		os.Remove(t)
	}
	g.tmps = nil
}
