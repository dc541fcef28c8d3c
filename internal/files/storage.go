package files

import (
	"context"
	"io"
)

// Storage keeps the bytes of uploaded files under keys the caller generates. The domain talks to it
// only through this interface, so that a store other than the database (an S3-compatible bucket, say)
// can replace DBStorage without touching package chat.
//
// A key's object is written once, whole, before anything refers to it: the caller records the file as
// ready only after Write returned, and deletes what a failed Write left.
type Storage interface {
	// Write stores everything r yields under key and returns how many bytes that was. When it fails
	// (r's error included), part of the object may exist: Delete removes it.
	Write(ctx context.Context, key string, r io.Reader) (int64, error)
	// Open returns the object of size bytes stored under key.
	Open(ctx context.Context, key string, size int64) (Object, error)
	// Delete removes the object, whole or partial; a missing object is no error.
	Delete(ctx context.Context, key string) error
}

// Object reads a stored object: in order with Read, or anywhere with ReadAt (archive checks read an
// Office file's directory at its end).
type Object interface {
	io.Reader
	io.ReaderAt
	io.Closer
}
