package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store"
)

// Notifications between the instances sharing the database ride on PostgreSQL's NOTIFY: sent when the
// transaction commits, never when it rolls back, and heard by every listener in commit order.
// Channels are named per database, not per schema, so a store with a Schema prefixes its channels with
// it: installations in different schemas of one database do not hear each other.

// maxChannel is the longest channel name PostgreSQL keeps whole (NAMEDATALEN - 1).
const maxChannel = 63

func (s *Store) channel(name string) (string, error) {
	if s.schema != "" {
		name = s.schema + ":" + name
	}
	if name == "" || len(name) > maxChannel {
		return "", fmt.Errorf("postgres: channel %q must have 1 to %d bytes", name, maxChannel)
	}
	return name, nil
}

// Notify implements store.Tx with pg_notify. The payload must be text of under 8000 bytes.
func (t *txn) Notify(ctx context.Context, channel string, payload []byte) error {
	name, err := t.s.channel(channel)
	if err != nil {
		return err
	}
	if _, err := t.db.Exec(ctx, `SELECT pg_notify($1, $2)`, name, string(payload)); err != nil {
		return fmt.Errorf("store: notify %s: %w", channel, err)
	}
	return nil
}

// Listen delivers the payloads notified on channel, in commit order, on a connection of its own, until
// ctx ends (it then returns nil) or the store is closed (store.ErrClosed). It calls listening each time
// LISTEN takes effect, the first time included; when the connection drops it reconnects, backing off up
// to listenBackoff, and notifications sent in between are lost. It implements chat.Notifier.
func (s *Store) Listen(ctx context.Context, channel string, deliver func(payload []byte), listening func()) error {
	name, err := s.channel(channel)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.closing, cancel)
	defer stop()

	delay := time.Duration(0)
	for {
		_ = s.listen(ctx, name, deliver, func() {
			delay = 0
			listening()
		})
		if s.closed.Load() {
			return store.ErrClosed
		}
		if ctx.Err() != nil {
			return nil
		}
		delay = min(max(2*delay, 50*time.Millisecond), listenBackoff)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
		}
	}
}

// listenBackoff is the longest wait between two attempts to listen again.
const listenBackoff = 5 * time.Second

// listen runs one listening connection until it fails, calling listening once LISTEN took effect.
func (s *Store) listen(ctx context.Context, channel string, deliver func([]byte), listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("postgres: listen: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{channel}.Sanitize()); err != nil {
		return fmt.Errorf("postgres: listen %s: %w", channel, err)
	}
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("postgres: listen %s: %w", channel, err)
		}
		if n.Channel == channel {
			deliver([]byte(n.Payload))
		}
	}
}

// Broadcast sends payload to the listeners of channel at once, on a pooled connection and outside any
// transaction, for events nothing stores (chat's ephemeral relay). It implements chat.Broadcaster.
func (s *Store) Broadcast(ctx context.Context, channel string, payload []byte) error {
	name, err := s.channel(channel)
	if err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, name, string(payload)); err != nil {
		return fmt.Errorf("store: broadcast %s: %w", channel, err)
	}
	return nil
}
