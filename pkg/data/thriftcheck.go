package data

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Structural checks of a Parquet file's Thrift-encoded footer and page headers, run before
// parquet-go decodes them.
//
// Why: parquet-go v0.32.0's compact-protocol reader ignores short reads when skipping DOUBLE
// values (compactReader.ReadFloat64 returns no error at end of input), so a damaged header
// announcing a set or list of 2³¹ doubles keeps it spinning for minutes (found by
// FuzzReadParquet). Checking that every Thrift container is no larger than the bytes that
// remain, and that page sizes stay inside their column chunk, turns such input into an
// immediate error. Only the Thrift compact protocol's framing is parsed here (field headers,
// varints, container headers); values are skipped.

var errShortThrift = errors.New("truncated thrift data")

// thriftScan walks compact-protocol Thrift data.
type thriftScan struct {
	b   []byte
	pos int
}

func (s *thriftScan) byte1() (byte, error) {
	if s.pos >= len(s.b) {
		return 0, errShortThrift
	}
	c := s.b[s.pos]
	s.pos++
	return c, nil
}

func (s *thriftScan) uvarint() (uint64, error) {
	v, n := binary.Uvarint(s.b[s.pos:])
	if n == 0 {
		return 0, errShortThrift
	}
	if n < 0 {
		return 0, fmt.Errorf("thrift varint overflows at byte %d", s.pos)
	}
	s.pos += n
	return v, nil
}

func (s *thriftScan) zigzag() (int64, error) {
	u, err := s.uvarint()
	return int64(u>>1) ^ -int64(u&1), err
}

func (s *thriftScan) skipBytes(n uint64) error {
	if n > uint64(len(s.b)-s.pos) {
		return errShortThrift
	}
	s.pos += int(n)
	return nil
}

// containerSize checks a container's element count against the bytes left (every element
// takes at least one byte).
func (s *thriftScan) containerSize(n uint64, minBytes int) error {
	if n > uint64(len(s.b)-s.pos)/uint64(minBytes) {
		if s.pos >= len(s.b) {
			return errShortThrift
		}
		return fmt.Errorf("thrift container of %d elements in %d bytes", n, len(s.b)-s.pos)
	}
	return nil
}

const maxThriftDepth = 64

// skipValue skips one value of compact type t; inContainer tells whether booleans take a byte.
func (s *thriftScan) skipValue(t byte, inContainer bool, depth int) error {
	if depth > maxThriftDepth {
		return fmt.Errorf("thrift data nested deeper than %d", maxThriftDepth)
	}
	switch t {
	case 1, 2: // BOOLEAN_TRUE, BOOLEAN_FALSE
		if inContainer {
			_, err := s.byte1()
			return err
		}
		return nil
	case 3: // I8
		_, err := s.byte1()
		return err
	case 4, 5, 6: // I16, I32, I64
		_, err := s.uvarint()
		return err
	case 7: // DOUBLE
		return s.skipBytes(8)
	case 8: // BINARY
		n, err := s.uvarint()
		if err != nil {
			return err
		}
		return s.skipBytes(n)
	case 9, 10: // LIST, SET
		h, err := s.byte1()
		if err != nil {
			return err
		}
		n, et := uint64(h>>4), h&0x0f
		if n == 15 {
			if n, err = s.uvarint(); err != nil {
				return err
			}
		}
		if err := s.containerSize(n, 1); err != nil {
			return err
		}
		for i := uint64(0); i < n; i++ {
			if err := s.skipValue(et, true, depth+1); err != nil {
				return err
			}
		}
		return nil
	case 11: // MAP
		n, err := s.uvarint()
		if err != nil || n == 0 {
			return err
		}
		kv, err := s.byte1()
		if err != nil {
			return err
		}
		if err := s.containerSize(n, 2); err != nil {
			return err
		}
		for i := uint64(0); i < n; i++ {
			if err := s.skipValue(kv>>4, true, depth+1); err != nil {
				return err
			}
			if err := s.skipValue(kv&0x0f, true, depth+1); err != nil {
				return err
			}
		}
		return nil
	case 12: // STRUCT
		_, err := s.skipStruct(depth+1, nil)
		return err
	case 13: // UUID
		return s.skipBytes(16)
	}
	return fmt.Errorf("unknown thrift type %d at byte %d", t, s.pos)
}

// skipStruct skips a struct; for each top-level I32 field it calls onI32(fieldID, value).
func (s *thriftScan) skipStruct(depth int, onI32 func(id int64, v int64)) (int, error) {
	start := s.pos
	var id int64
	for {
		h, err := s.byte1()
		if err != nil {
			return 0, err
		}
		if h == 0 { // STOP
			return s.pos - start, nil
		}
		t := h & 0x0f
		if d := int64(h >> 4); d != 0 {
			id += d
		} else if id, err = s.zigzag(); err != nil {
			return 0, err
		}
		if t == 5 && onI32 != nil {
			v, err := s.zigzag()
			if err != nil {
				return 0, err
			}
			onI32(id, v)
			continue
		}
		if err := s.skipValue(t, false, depth); err != nil {
			return 0, err
		}
	}
}

// checkFooter validates the framing of the file metadata at the end of a Parquet file.
func checkFooter(r io.ReaderAt, size int64) error {
	if size < 12 {
		return fmt.Errorf("file of %d bytes is too small for parquet", size)
	}
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return fmt.Errorf("reading footer: %w", err)
	}
	if string(tail[4:]) != "PAR1" {
		return fmt.Errorf("not a plain parquet file (footer magic %q)", tail[4:])
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n > size-12 {
		return fmt.Errorf("footer of %d bytes in a file of %d bytes", n, size)
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, size-8-n); err != nil {
		return fmt.Errorf("reading footer: %w", err)
	}
	s := thriftScan{b: buf}
	if _, err := s.skipStruct(0, nil); err != nil {
		return fmt.Errorf("file metadata: %w", err)
	}
	return nil
}

// maxPageBytes bounds a page's uncompressed size; larger pages need a compression ratio
// no real column page reaches.
const maxPageBytes = 16 << 20

// checkPages validates the page headers of a column chunk occupying [start, start+length).
func checkPages(r io.ReaderAt, size, start, length int64) error {
	if start < 4 || length < 0 || start > size || length > size-start {
		return fmt.Errorf("column chunk at [%d, +%d) outside a file of %d bytes", start, length, size)
	}
	end := start + length
	window := make([]byte, 4096)
	for pos := start; pos < end; {
		var hdrLen int
		var compressed, uncompressed int64 = -1, -1
		for w := int64(4096); ; w *= 4 {
			w = min(w, end-pos)
			if int64(cap(window)) < w {
				window = make([]byte, w)
			}
			buf := window[:w]
			if _, err := r.ReadAt(buf, pos); err != nil {
				return fmt.Errorf("page header at byte %d: %w", pos, err)
			}
			s := thriftScan{b: buf}
			n, err := s.skipStruct(0, func(id, v int64) {
				switch id {
				case 2:
					uncompressed = v
				case 3:
					compressed = v
				}
			})
			if err == errShortThrift && w < end-pos {
				continue // header longer than the window
			}
			if err != nil {
				return fmt.Errorf("page header at byte %d: %w", pos, err)
			}
			hdrLen = n
			break
		}
		if compressed < 0 || compressed > end-pos-int64(hdrLen) {
			return fmt.Errorf("page at byte %d: compressed size %d outside its column chunk", pos, compressed)
		}
		if uncompressed < 0 || uncompressed > 4096*compressed+maxPageBytes {
			return fmt.Errorf("page at byte %d: implausible uncompressed size %d for %d compressed bytes", pos, uncompressed, compressed)
		}
		pos += int64(hdrLen) + compressed
	}
	return nil
}
