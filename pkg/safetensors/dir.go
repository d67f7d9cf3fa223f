package safetensors

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
)

// Dir is the weights of a HF model directory: model.safetensors, or the shards listed in
// model.safetensors.index.json. Tensors are read one at a time.
type Dir struct {
	Path  string
	files []*File
	where map[string]*File
}

// OpenDir opens the safetensors weights in dir (single file or sharded index); every file's
// header is checked (see Open).
func OpenDir(dir string) (*Dir, error) {
	c := &Dir{Path: dir, where: map[string]*File{}}
	indexPath := filepath.Join(dir, "model.safetensors.index.json")
	data, err := os.ReadFile(indexPath)
	if err != nil {
		if !os.IsNotExist(err) {
			return nil, err
		}
		sf, err := Open(filepath.Join(dir, "model.safetensors"))
		if err != nil {
			return nil, err
		}
		c.files = []*File{sf}
		for _, n := range sf.order {
			c.where[n] = sf
		}
		return c, nil
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("%s: %w", indexPath, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: empty weight_map", indexPath)
	}
	shards := map[string]*File{}
	names := make([]string, 0, len(idx.WeightMap))
	for n := range idx.WeightMap {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		file := idx.WeightMap[name]
		if filepath.Base(file) != file {
			c.Close()
			return nil, fmt.Errorf("%s: shard %q of tensor %q is not a file name in the directory", indexPath, file, name)
		}
		sf, ok := shards[file]
		if !ok {
			var err error
			sf, err = Open(filepath.Join(dir, file))
			if err != nil {
				c.Close()
				return nil, fmt.Errorf("%s: shard for %q: %w", indexPath, name, err)
			}
			shards[file] = sf
			c.files = append(c.files, sf)
		}
		if _, ok := sf.infos[name]; !ok {
			c.Close()
			return nil, fmt.Errorf("%s: tensor %q is listed in shard %s but is not in it", indexPath, name, file)
		}
		c.where[name] = sf
	}
	return c, nil
}

// Names lists all tensor names, sorted.
func (c *Dir) Names() []string {
	names := make([]string, 0, len(c.where))
	for n := range c.where {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Info describes a tensor.
func (c *Dir) Info(name string) (Info, bool) {
	sf, ok := c.where[name]
	if !ok {
		return Info{}, false
	}
	return sf.Info(name)
}

// File returns the file holding a tensor.
func (c *Dir) File(name string) (*File, error) {
	sf, ok := c.where[name]
	if !ok {
		return nil, fmt.Errorf("%s: checkpoint has no tensor %q", c.Path, name)
	}
	return sf, nil
}

// ReadAs reads one tensor as dtype (see File.ReadAs).
func (c *Dir) ReadAs(name string, dtype dtypes.DType) (*tensors.Tensor, error) {
	sf, err := c.File(name)
	if err != nil {
		return nil, err
	}
	return sf.ReadAs(name, dtype)
}

// ReadFloat32 reads one tensor as float32.
func (c *Dir) ReadFloat32(name string) (*tensors.Tensor, error) {
	return c.ReadAs(name, dtypes.Float32)
}

// Close closes all files.
func (c *Dir) Close() error {
	var first error
	for _, f := range c.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
