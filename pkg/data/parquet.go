package data

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/loralab/loralab/pkg/chat"
)

// Schema names the two conversation layouts a Parquet file may use.
type Schema string

const (
	// SchemaOpenAI is `messages: list<struct<role: string, content: string>>`.
	SchemaOpenAI Schema = "openai"
	// SchemaShareGPT is `conversations: list<struct<from: string, value: string>>`.
	SchemaShareGPT Schema = "sharegpt"
)

// Reader streams conversations from a Parquet file one row group at a time: only the
// role/content (from/value) and system columns are decoded, page by page, so memory stays
// bounded by a page of each column whatever the file size.
//
// Both schemas are accepted (see Schema), with an optional top-level string column
// "system"; other columns are ignored. The list may be written with any of the usual
// three-level LIST layouts (pyarrow's list/element or list/item, parquet-go's).
type Reader struct {
	file   *parquet.File
	src    io.ReaderAt
	size   int64
	closer io.Closer
	schema Schema
	role   listLeaf
	text   listLeaf
	system *parquet.LeafColumn

	group     int   // current row group index
	groupRows int64 // rows left in the current group
	row       int   // rows returned so far
	roleCur   *cursor
	textCur   *cursor
	sysCur    *cursor
}

// listLeaf is a string leaf inside the repeated struct of the conversation list.
type listLeaf struct {
	col     parquet.LeafColumn
	path    string // dotted column path, for messages
	elemDef int    // definition level at which a list element exists
}

// OpenParquet opens a conversation Parquet file for streaming. Close it when done.
func OpenParquet(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("data: %w", err)
	}
	r, err := NewParquetReader(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("data: %s: %w", path, err)
	}
	r.closer = f
	return r, nil
}

// NewParquetReader reads conversations from Parquet data of the given size. Close does not
// close r.
func NewParquetReader(r io.ReaderAt, size int64) (rd *Reader, err error) {
	defer recoverAsError(&err)
	if err := checkFooter(r, size); err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	rd = &Reader{file: f, src: r, size: size}
	if err := rd.resolveSchema(); err != nil {
		return nil, err
	}
	return rd, nil
}

// resolveSchema finds the conversation list and its two string leaves, and the system column.
func (r *Reader) resolveSchema() error {
	s := r.file.Schema()
	var top parquet.Field
	for _, f := range s.Fields() {
		switch f.Name() {
		case "messages":
			top, r.schema = f, SchemaOpenAI
		case "conversations":
			if top == nil {
				top, r.schema = f, SchemaShareGPT
			}
		}
	}
	if top == nil {
		return fmt.Errorf("parquet schema has neither a \"messages\" nor a \"conversations\" column")
	}
	roleNames, textNames := []string{"role", "from"}, []string{"content", "value"}
	if r.schema == SchemaShareGPT {
		roleNames, textNames = []string{"from", "role"}, []string{"value", "content"}
	}
	var err error
	if r.role, err = findListLeaf(s, top, roleNames); err != nil {
		return err
	}
	if r.text, err = findListLeaf(s, top, textNames); err != nil {
		return err
	}
	if leaf, ok := s.Lookup("system"); ok {
		if leaf.MaxRepetitionLevel != 0 || leaf.Node.Type().Kind() != parquet.ByteArray {
			return fmt.Errorf("column \"system\" must be a string (found %v)", leaf.Node.Type())
		}
		r.system = &leaf
	}
	return nil
}

// findListLeaf looks under top for a leaf named one of names, inside exactly one repeated
// group, and computes the definition level at which a list element is present.
func findListLeaf(s *parquet.Schema, top parquet.Field, names []string) (listLeaf, error) {
	for _, name := range names {
		path, ok := findPath(top, name)
		if !ok {
			continue
		}
		full := append([]string{top.Name()}, path...)
		leaf, ok := s.Lookup(full...)
		if !ok {
			continue
		}
		if leaf.Node.Type().Kind() != parquet.ByteArray {
			return listLeaf{}, fmt.Errorf("column %v must be a string (found %v)", full, leaf.Node.Type())
		}
		if leaf.MaxRepetitionLevel != 1 {
			return listLeaf{}, fmt.Errorf("column %v: need a list of structs (repetition depth %d)", full, leaf.MaxRepetitionLevel)
		}
		// Definition level after the repeated node on the path.
		level, node := 0, parquet.Node(top)
		elemDef := -1
		for i := 0; ; i++ {
			if node.Optional() || node.Repeated() {
				level++
			}
			if node.Repeated() {
				elemDef = level
			}
			if i == len(path) {
				break
			}
			node = fieldByName(node, path[i])
		}
		if elemDef < 0 {
			return listLeaf{}, fmt.Errorf("column %v is not inside a list", full)
		}
		return listLeaf{col: leaf, path: strings.Join(full, "."), elemDef: elemDef}, nil
	}
	return listLeaf{}, fmt.Errorf("column %q has no %q field", top.Name(), names[0])
}

// findPath returns the path below n to the first leaf named name (depth first).
func findPath(n parquet.Node, name string) ([]string, bool) {
	for _, f := range n.Fields() {
		if f.Leaf() {
			if f.Name() == name {
				return []string{name}, true
			}
			continue
		}
		if p, ok := findPath(f, name); ok {
			return append([]string{f.Name()}, p...), true
		}
	}
	return nil, false
}

func fieldByName(n parquet.Node, name string) parquet.Node {
	for _, f := range n.Fields() {
		if f.Name() == name {
			return f
		}
	}
	return nil
}

// Schema reports which conversation layout the file uses.
func (r *Reader) Schema() Schema { return r.schema }

// NumRows is the number of rows in the file, from its metadata.
func (r *Reader) NumRows() int64 { return r.file.NumRows() }

// Row is the number of rows returned by Next so far: after a successful Next, the row
// just returned has index Row()-1.
func (r *Reader) Row() int { return r.row }

// Next returns the next row as a normalized Conversation (see Normalize), or io.EOF after
// the last row. Rows are not validated; use Validate or ReadParquet to filter them.
func (r *Reader) Next() (conv chat.Conversation, err error) {
	defer recoverAsError(&err)
	for r.groupRows == 0 {
		if r.roleCur != nil {
			r.closeGroup()
			r.group++
		}
		groups := r.file.RowGroups()
		if r.group >= len(groups) {
			return chat.Conversation{}, io.EOF
		}
		g := groups[r.group]
		r.groupRows = g.NumRows()
		if r.groupRows < 0 {
			return chat.Conversation{}, fmt.Errorf("row group %d: negative row count", r.group)
		}
		chunks := g.ColumnChunks()
		meta := r.file.Metadata().RowGroups
		get := func(i int) (*cursor, error) {
			if i < 0 || i >= len(chunks) || r.group >= len(meta) || i >= len(meta[r.group].Columns) {
				return nil, fmt.Errorf("row group %d: no column chunk %d", r.group, i)
			}
			cm := meta[r.group].Columns[i].MetaData
			start := cm.DataPageOffset
			if cm.DictionaryPageOffset != 0 {
				start = cm.DictionaryPageOffset
			}
			if err := checkPages(r.src, r.size, start, cm.TotalCompressedSize); err != nil {
				return nil, fmt.Errorf("row group %d, column %d: %w", r.group, i, err)
			}
			return &cursor{pages: chunks[i].Pages()}, nil
		}
		if r.roleCur, err = get(r.role.col.ColumnIndex); err != nil {
			return conv, err
		}
		if r.textCur, err = get(r.text.col.ColumnIndex); err != nil {
			return conv, err
		}
		if r.system != nil {
			if r.sysCur, err = get(r.system.ColumnIndex); err != nil {
				return conv, err
			}
		}
	}
	conv, err = r.readRow()
	if err != nil {
		return conv, fmt.Errorf("row %d: %w", r.row, err)
	}
	r.groupRows--
	r.row++
	return conv, nil
}

func (r *Reader) readRow() (chat.Conversation, error) {
	var system string
	if r.sysCur != nil {
		v, err := r.sysCur.next()
		if err != nil {
			return chat.Conversation{}, fmt.Errorf("column system: %w", err)
		}
		if v.RepetitionLevel() != 0 {
			return chat.Conversation{}, fmt.Errorf("column system: unexpected repetition")
		}
		if v.DefinitionLevel() == r.system.MaxDefinitionLevel {
			system = string(v.ByteArray())
		}
	}
	var msgs []chat.Message
	for first := true; ; first = false {
		if !first {
			v, err := r.roleCur.peek()
			if err == io.EOF || (err == nil && v.RepetitionLevel() == 0) {
				break
			}
			if err != nil {
				return chat.Conversation{}, err
			}
		}
		rv, err := r.roleCur.next()
		if err != nil {
			return chat.Conversation{}, fmt.Errorf("column %s: %w", r.role.path, err)
		}
		tv, err := r.textCur.next()
		if err != nil {
			return chat.Conversation{}, fmt.Errorf("column %s: %w", r.text.path, err)
		}
		rep := rv.RepetitionLevel()
		if rep != tv.RepetitionLevel() || (first != (rep == 0)) {
			return chat.Conversation{}, fmt.Errorf("columns %s and %s are misaligned", r.role.path, r.text.path)
		}
		rd, td := rv.DefinitionLevel(), tv.DefinitionLevel()
		if (rd >= r.role.elemDef) != (td >= r.text.elemDef) {
			return chat.Conversation{}, fmt.Errorf("columns %s and %s disagree on list length", r.role.path, r.text.path)
		}
		if rd < r.role.elemDef { // null or empty list (or null element)
			continue
		}
		var m chat.Message
		if rd == r.role.col.MaxDefinitionLevel {
			m.Role = string(rv.ByteArray())
		}
		if td == r.text.col.MaxDefinitionLevel {
			m.Content = string(tv.ByteArray())
		}
		msgs = append(msgs, m)
	}
	return Normalize(system, msgs), nil
}

func (r *Reader) closeGroup() {
	for _, c := range []*cursor{r.roleCur, r.textCur, r.sysCur} {
		if c != nil {
			c.close()
		}
	}
	r.roleCur, r.textCur, r.sysCur = nil, nil, nil
}

// All iterates over the remaining rows: for conv, err := range r.All() { … }. Iteration
// stops after the first error, which is yielded.
func (r *Reader) All() iter.Seq2[chat.Conversation, error] {
	return func(yield func(chat.Conversation, error) bool) {
		for {
			c, err := r.Next()
			if err == io.EOF {
				return
			}
			if !yield(c, err) || err != nil {
				return
			}
		}
	}
}

// Close releases the file (if opened by OpenParquet).
func (r *Reader) Close() error {
	r.closeGroup()
	if r.closer != nil {
		err := r.closer.Close()
		r.closer = nil
		return err
	}
	return nil
}

// cursor walks the values of one column chunk, a page at a time, decoding at most
// cursorBatch values at once.
type cursor struct {
	pages  parquet.Pages
	values parquet.ValueReader // of the current page; nil between pages
	vals   []parquet.Value
	pos    int
	err    error
}

const cursorBatch = 1024

func (c *cursor) fill() error {
	for c.pos >= len(c.vals) {
		if c.err != nil {
			return c.err
		}
		if c.values == nil {
			page, err := c.pages.ReadPage()
			if err != nil {
				if errors.Is(err, io.EOF) {
					c.err = io.EOF
				} else {
					c.err = fmt.Errorf("reading page: %w", err)
				}
				return c.err
			}
			c.values = page.Values()
		}
		if c.vals == nil {
			c.vals = make([]parquet.Value, cursorBatch)
		}
		n, err := c.values.ReadValues(c.vals[:cursorBatch])
		c.vals, c.pos = c.vals[:n], 0
		if err != nil {
			c.values = nil
			if !errors.Is(err, io.EOF) {
				c.err = fmt.Errorf("decoding page: %w", err)
			}
		} else if n == 0 {
			c.err = fmt.Errorf("decoding page: %w", io.ErrNoProgress)
		}
	}
	return nil
}

func (c *cursor) peek() (parquet.Value, error) {
	if err := c.fill(); err != nil {
		return parquet.Value{}, err
	}
	return c.vals[c.pos], nil
}

func (c *cursor) next() (parquet.Value, error) {
	v, err := c.peek()
	if err == io.EOF {
		return v, io.ErrUnexpectedEOF
	}
	if err == nil {
		c.pos++
	}
	return v, err
}

func (c *cursor) close() {
	if c.pages != nil {
		c.pages.Close()
	}
}

// recoverAsError turns a panic inside the Parquet library (malformed input it does not
// check) into an error, so that bad files never crash a notebook.
func recoverAsError(err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("malformed parquet data: %v", p)
		if os.Getenv("LORALAB_DEBUG") != "" {
			*err = fmt.Errorf("%w\n%s", *err, debug.Stack())
		}
	}
}

// ReadParquet reads every row of a conversation Parquet file. With skipInvalid false, the
// first row that fails Validate is an error naming its row and reason; with skipInvalid
// true, invalid rows are dropped and counted in the Report. Read errors (a damaged file)
// are always errors.
func ReadParquet(path string, skipInvalid bool) ([]chat.Conversation, Report, error) {
	var rep Report
	r, err := OpenParquet(path)
	if err != nil {
		return nil, rep, err
	}
	defer r.Close()
	convs := make([]chat.Conversation, 0, min(r.NumRows(), 1<<20))
	format := "parquet-" + string(r.Schema())
	for {
		row := r.Row()
		c, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, rep, fmt.Errorf("data: %s: %w", path, err)
		}
		rep.Read++
		rep.format(format)
		if verr := Validate(c); verr != nil {
			ie := atRow(row, verr)
			if !skipInvalid {
				return nil, rep, fmt.Errorf("data: %s: %w", path, ie)
			}
			rep.skip(ie)
			continue
		}
		rep.Kept++
		convs = append(convs, c)
	}
	return convs, rep, nil
}

// ReadAll reads every row of a conversation Parquet file without validating.
func ReadAll(path string) ([]chat.Conversation, error) {
	r, err := OpenParquet(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var convs []chat.Conversation
	for {
		c, err := r.Next()
		if err == io.EOF {
			return convs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("data: %s: %w", path, err)
		}
		convs = append(convs, c)
	}
}

// parquetRow is the written layout: the OpenAI schema plus a nullable system column.
type parquetRow struct {
	Messages []chat.Message `parquet:"messages,list"`
	System   *string        `parquet:"system,optional"`
}

// WriterOptions tune WriteParquet / NewParquetWriter. The zero value is fine.
type WriterOptions struct {
	// RowsPerGroup bounds a row group (default 10,000), which bounds reader memory.
	RowsPerGroup int64
}

// Writer writes conversations to a Parquet file in the OpenAI schema
// (`messages: list<struct<role, content>>`, `system: string` nullable). The file appears at
// its path only when Close succeeds (it is written to a temporary file and renamed).
type Writer struct {
	path string
	tmp  *os.File
	w    *parquet.GenericWriter[parquetRow]
	buf  []parquetRow
	n    int
}

// NewParquetWriter starts writing a conversation Parquet file at path.
func NewParquetWriter(path string, opts WriterOptions) (*Writer, error) {
	if opts.RowsPerGroup <= 0 {
		opts.RowsPerGroup = 10_000
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	w := parquet.NewGenericWriter[parquetRow](tmp,
		parquet.Compression(&parquet.Zstd),
		parquet.MaxRowsPerRowGroup(opts.RowsPerGroup),
		parquet.CreatedBy("loralab", "", ""),
	)
	return &Writer{path: path, tmp: tmp, w: w, buf: make([]parquetRow, 0, 256)}, nil
}

// Write adds one conversation (its system prompt, if any, goes to the system column).
func (w *Writer) Write(conv chat.Conversation) error {
	if w.w == nil {
		return fmt.Errorf("data: %s: write after close", w.path)
	}
	row := parquetRow{Messages: conv.Messages}
	if conv.System != "" {
		s := conv.System
		row.System = &s
	}
	if row.Messages == nil {
		row.Messages = []chat.Message{}
	}
	w.buf = append(w.buf, row)
	if len(w.buf) == cap(w.buf) {
		return w.flush()
	}
	return nil
}

func (w *Writer) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if _, err := w.w.Write(w.buf); err != nil {
		return fmt.Errorf("data: %s: row %d: %w", w.path, w.n, err)
	}
	w.n += len(w.buf)
	w.buf = w.buf[:0]
	return nil
}

// Close finishes the file and moves it into place. On error, nothing is left at path.
func (w *Writer) Close() error {
	if w.w == nil {
		return nil
	}
	err := w.flush()
	if err == nil {
		err = w.w.Close()
	}
	w.w = nil
	if err2 := w.tmp.Close(); err == nil {
		err = err2
	}
	if err == nil {
		err = os.Rename(w.tmp.Name(), w.path)
	}
	if err != nil {
		os.Remove(w.tmp.Name())
		return fmt.Errorf("data: writing %s: %w", w.path, err)
	}
	return nil
}

// Abort discards a file being written.
func (w *Writer) Abort() {
	if w.w == nil {
		return
	}
	w.w = nil
	w.tmp.Close()
	os.Remove(w.tmp.Name())
}

// WriteParquet writes convs to path atomically (see Writer).
func WriteParquet(path string, convs []chat.Conversation) error {
	return WriteParquetOptions(path, convs, WriterOptions{})
}

// WriteParquetOptions is WriteParquet with options.
func WriteParquetOptions(path string, convs []chat.Conversation, opts WriterOptions) error {
	w, err := NewParquetWriter(path, opts)
	if err != nil {
		return err
	}
	for _, c := range convs {
		if err := w.Write(c); err != nil {
			w.Abort()
			return err
		}
	}
	return w.Close()
}
