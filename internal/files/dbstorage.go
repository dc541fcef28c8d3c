package files

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/parleyhq/parley/internal/store"
)

// ChunkSize is how DBStorage cuts objects: every chunk of an object but its last holds exactly this
// many bytes, so a position maps to a chunk without an index. Changing it would make stored objects
// unreadable; it is a format constant, not a setting.
const ChunkSize = 256 << 10

// deleteBatch bounds the chunks one delete transaction removes (a 100 MB file is 400 chunks).
const deleteBatch = 64

// DBStorage keeps objects in the database, in the blob_chunks table: one backup holds everything and
// several instances share the files with nothing more to run. Each chunk is written in a transaction of
// its own as the upload streams in, so a slow upload never holds the database's writer, and an object
// needs no more memory than one chunk.
type DBStorage struct {
	Store store.Store
}

// Write implements Storage.
func (d DBStorage) Write(ctx context.Context, key string, r io.Reader) (int64, error) {
	buf := make([]byte, ChunkSize)
	var total int64
	for n := 0; ; n++ {
		k, err := fill(r, buf)
		if k > 0 {
			chunk := buf[:k]
			if uerr := d.Store.Update(ctx, func(tx store.Tx) error { return tx.PutBlobChunk(ctx, key, n, chunk) }); uerr != nil {
				return total, uerr
			}
			total += int64(k)
		}
		switch {
		case err == io.EOF: // io.Reader returns io.EOF itself, never wrapped
			return total, nil
		case err != nil:
			return total, err
		}
	}
}

// fill reads into buf until it is full or r fails. Unlike io.ReadFull it passes r's own error on: a
// reader's io.ErrUnexpectedEOF (a multipart body cut short) must fail the write, not end the object.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Open implements Storage.
func (d DBStorage) Open(ctx context.Context, key string, size int64) (Object, error) {
	return &dbObject{ctx: ctx, st: d.Store, key: key, size: size, cur: -1}, nil
}

// Delete implements Storage.
func (d DBStorage) Delete(ctx context.Context, key string) error {
	for {
		var n int
		err := d.Store.Update(ctx, func(tx store.Tx) error {
			var err error
			n, err = tx.DeleteBlob(ctx, key, deleteBatch)
			return err
		})
		if err != nil || n < deleteBatch {
			return err
		}
	}
}

// dbObject reads an object a chunk at a time, keeping only the chunk it is in.
type dbObject struct {
	ctx  context.Context
	st   store.Store
	key  string
	size int64
	off  int64 // Read's position

	cur  int // the chunk held in buf, -1 for none
	data []byte
}

func (o *dbObject) chunk(n int) ([]byte, error) {
	if n == o.cur {
		return o.data, nil
	}
	data, err := o.st.BlobChunk(o.ctx, o.key, n)
	if err != nil {
		return nil, fmt.Errorf("files: read %s chunk %d: %w", o.key, n, err)
	}
	o.cur, o.data = n, data
	return data, nil
}

func (o *dbObject) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("files: negative offset")
	}
	read := 0
	for read < len(p) {
		pos := off + int64(read)
		if pos >= o.size {
			return read, io.EOF
		}
		data, err := o.chunk(int(pos / ChunkSize))
		if err != nil {
			return read, err
		}
		in := int(pos % ChunkSize)
		if in >= len(data) {
			// The object is shorter than its recorded size: stored bytes went missing.
			return read, io.ErrUnexpectedEOF
		}
		read += copy(p[read:], data[in:])
	}
	return read, nil
}

func (o *dbObject) Read(p []byte) (int, error) {
	if o.off >= o.size {
		return 0, io.EOF
	}
	if rest := o.size - o.off; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := o.ReadAt(p, o.off)
	o.off += int64(n)
	if errors.Is(err, io.EOF) && n > 0 {
		err = nil
	}
	return n, err
}

func (o *dbObject) Close() error {
	o.data, o.cur = nil, -1
	return nil
}
