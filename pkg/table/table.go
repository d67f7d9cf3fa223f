// Package table writes and reads tables whose rows are flat structs (numbers, strings, bools)
// as CSV (header from the fields' JSON names, floats written exactly) and Parquet (parquet
// tags), each file written to a temporary file and renamed: training histories, eval tables,
// sweep results.
package table

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/loralab/loralab/pkg/atomicfile"
	"github.com/parquet-go/parquet-go"
)

// WriteParquet writes rows (a struct slice with parquet tags) to path atomically.
func WriteParquet[T any](path string, rows []T) error {
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		return fmt.Errorf("table: writing %s: %w", path, err)
	}
	return atomicfile.Write(path, buf.Bytes())
}

// ReadParquet reads a file written by WriteParquet.
func ReadParquet[T any](path string) ([]T, error) {
	rows, err := parquet.ReadFile[T](path)
	if err != nil {
		return nil, fmt.Errorf("table: reading %s: %w", path, err)
	}
	return rows, nil
}

// csvFields returns the exported fields of struct type typ with their column names (JSON tag).
func csvFields(typ reflect.Type) (idx []int, names []string) {
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		idx, names = append(idx, i), append(names, name)
	}
	return idx, names
}

// WriteCSV writes rows (a slice of flat structs: numbers, strings, bools) to path atomically,
// with a header of the fields' JSON names. Floats are written exactly ('g', shortest).
func WriteCSV[T any](path string, rows []T) error {
	typ := reflect.TypeFor[T]()
	if typ.Kind() != reflect.Struct {
		return fmt.Errorf("table: WriteCSV %s: rows of %s, want a struct", path, typ)
	}
	idx, names := csvFields(typ)
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(names); err != nil {
		return fmt.Errorf("table: writing %s: %w", path, err)
	}
	rec := make([]string, len(idx))
	for r, row := range rows {
		v := reflect.ValueOf(row)
		for j, i := range idx {
			f := v.Field(i)
			switch f.Kind() {
			case reflect.Float32, reflect.Float64:
				rec[j] = strconv.FormatFloat(f.Float(), 'g', -1, 64)
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				rec[j] = strconv.FormatInt(f.Int(), 10)
			case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				rec[j] = strconv.FormatUint(f.Uint(), 10)
			case reflect.Bool:
				rec[j] = strconv.FormatBool(f.Bool())
			case reflect.String:
				rec[j] = f.String()
			default:
				return fmt.Errorf("table: WriteCSV %s: row %d field %s has kind %s", path, r, names[j], f.Kind())
			}
		}
		if err := w.Write(rec); err != nil {
			return fmt.Errorf("table: writing %s row %d: %w", path, r, err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("table: writing %s: %w", path, err)
	}
	return atomicfile.Write(path, buf.Bytes())
}

// ReadCSV reads a file written by WriteCSV into rows of T, matching columns by name.
func ReadCSV[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("table: %w", err)
	}
	defer f.Close()
	all, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("table: reading %s: %w", path, err)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("table: %s: no header", path)
	}
	typ := reflect.TypeFor[T]()
	idx, names := csvFields(typ)
	col := map[string]int{}
	for j, h := range all[0] {
		col[h] = j
	}
	rows := make([]T, 0, len(all)-1)
	for r, rec := range all[1:] {
		var row T
		v := reflect.ValueOf(&row).Elem()
		for k, i := range idx {
			j, ok := col[names[k]]
			if !ok || j >= len(rec) {
				continue
			}
			s := rec[j]
			f := v.Field(i)
			var perr error
			switch f.Kind() {
			case reflect.Float32, reflect.Float64:
				var x float64
				x, perr = strconv.ParseFloat(s, 64)
				f.SetFloat(x)
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				var x int64
				x, perr = strconv.ParseInt(s, 10, 64)
				f.SetInt(x)
			case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				var x uint64
				x, perr = strconv.ParseUint(s, 10, 64)
				f.SetUint(x)
			case reflect.Bool:
				var x bool
				x, perr = strconv.ParseBool(s)
				f.SetBool(x)
			case reflect.String:
				f.SetString(s)
			}
			if perr != nil {
				return nil, fmt.Errorf("table: %s line %d column %s: %w", path, r+2, names[k], perr)
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}
