package chat

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// Blocking abusers. An agent blocks the visitor of a conversation of their workspace:
//
//   - a verified customer as the customer: every device, and every later session that verifies as them;
//   - anyone else by their session and by the client address their messages came from (an IPv6 client
//     by its /64), so that a fresh session from the same place is refused too.
//
// A block is live until an agent lifts it or its expiry passes (it is live at t while t < ExpiresAt).
// While it is live, the visitor cannot send a message (the first one that would open a conversation
// included) or change what they claim to be (claims reach agents' screens, so they would be another way
// to write to them): both are 403 blocked, with a message that tells the visitor nothing about the
// block. Everything else keeps working: the visitor still reads their history (reading is harmless, and
// a sudden blank would only invite new sessions), and a blocked customer still signs in — they are shown
// their history and cannot send. A verified session is judged as its customer only, never by its session
// or address: the customer is known, and blocking a place would block other customers there too.
//
// Client addresses that many visitors share are never blocked: loopback, private and link-local
// addresses are what a load balancer, a reverse proxy or a test machine looks like when
// --trusted-proxies is not set, and blocking one would block every visitor. Such a visitor is blocked by
// session only, and the block says so.
//
// Any agent may block and lift (blocking is part of answering chats, and a colleague's mistake must be
// undoable without waiting for an administrator); the audit trail records who did which.

// MaxBlockDuration is the longest a block with an expiry may last; beyond that, block until lifted.
const MaxBlockDuration = 366 * 24 * time.Hour

// maxBlockReason bounds a block's reason (characters).
const maxBlockReason = 500

// blockedMessage is what a blocked visitor is told: nothing about the block, who made it or why.
const blockedMessage = "this chat is unavailable"

func blockedProblem() *problem.Error {
	return problem.New(http.StatusForbidden, "blocked", "%s", blockedMessage)
}

// BlockAddr is the form in which a client address is blocked: an IPv4 address as is, an IPv6 address as
// its /64 (which one subscriber usually holds whole). It is "" for an address that cannot be blocked: not
// an address, or one many visitors share (loopback, private, link-local, unspecified).
func BlockAddr(addr string) string {
	a, err := netip.ParseAddr(strings.TrimSpace(addr))
	if err != nil {
		return ""
	}
	a = a.Unmap().WithZone("")
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return ""
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// visitorMatch is what a live block may name of the visitor: their customer when verified, else their
// session and the address of this request.
func visitorMatch(v *Visitor) store.BlockMatch {
	if v.Session.Level == store.LevelVerified {
		return store.BlockMatch{CustomerID: v.Session.CustomerID}
	}
	return store.BlockMatch{SessionID: v.Session.ID, Addr: BlockAddr(v.ClientAddr)}
}

// refuseBlocked fails with 403 blocked when a live block names the visitor. The workspace, read with
// the session on every request, says until when any block of it may be live (Settings.BlocksUntil): in
// a workspace with no live block — nearly every message — that spares the message a query.
func (s *Service) refuseBlocked(ctx context.Context, v *Visitor) error {
	now := s.clock()
	if !now.Before(v.Workspace.Settings.BlocksUntil) {
		return nil
	}
	_, err := s.store.LiveBlock(ctx, v.Workspace.ID, visitorMatch(v), now)
	if err == nil {
		return blockedProblem()
	}
	if isNotFound(err) {
		return nil
	}
	return err
}

// BlockInput is what an agent asks for when blocking a conversation's visitor.
type BlockInput struct {
	// For is how long the block lasts; zero means until lifted.
	For    time.Duration
	Reason string // optional; agents' eyes only
}

// BlockEntry is a block as the console shows it.
type BlockEntry struct {
	store.Block
	Live bool
	// Customer is the blocked customer, for a block of a verified customer.
	Customer *store.Customer
	// ClaimedName and ClaimedEmail are what the blocked visitor said about themself, from the
	// conversation they were blocked from (never verified).
	ClaimedName  string
	ClaimedEmail string
	// CreatedByName and LiftedByName name the agents ("" when unknown).
	CreatedByName string
	LiftedByName  string
}

// blockLive reports whether b is live at now.
func blockLive(b store.Block, now time.Time) bool {
	return b.LiftedAt.IsZero() && (b.ExpiresAt.IsZero() || now.Before(b.ExpiresAt))
}

func blockNotFound(id string) *problem.Error {
	return problem.NotFound("block_not_found", "no block %q", id)
}

// conversationMatch is what a block of the conversation's visitor names, and whether an address of
// theirs was recorded that could not be blocked (a shared one).
func conversationMatch(ctx context.Context, r store.Reader, conv store.Conversation) (m store.BlockMatch, sharedAddr string, err error) {
	if conv.CustomerID != "" {
		return store.BlockMatch{CustomerID: conv.CustomerID}, "", nil
	}
	m.SessionID = conv.SessionID
	addr, err := r.SessionClientAddr(ctx, conv.SessionID)
	if err != nil && !isNotFound(err) { // a session cleaned up since: the session alone is named
		return m, "", err
	}
	if m.Addr = BlockAddr(addr); m.Addr == "" {
		sharedAddr = addr
	}
	return m, sharedAddr, nil
}

// BlockVisitor blocks the visitor of a conversation of the agent's workspace (see the rules above) and
// records block.created in the audit trail. A visitor whom a live block names already is 409
// already_blocked: lift that block first to change it.
func (s *Service) BlockVisitor(ctx context.Context, agent store.Agent, conversationID string, in BlockInput) (store.Block, error) {
	if in.For < 0 || in.For > MaxBlockDuration {
		return store.Block{}, problem.InvalidField("for", "must be at most %d days, or none for a block until lifted", int(MaxBlockDuration/(24*time.Hour)))
	}
	reason := strings.TrimSpace(in.Reason)
	if err := checkText("reason", reason, maxBlockReason, true); err != nil {
		return store.Block{}, err
	}
	var b store.Block
	err := s.update(ctx, func(tx store.Tx, out *outbox) error {
		conv, err := conversationInWorkspace(ctx, tx, agent.WorkspaceID, conversationID)
		if err != nil {
			return err
		}
		m, _, err := conversationMatch(ctx, tx, conv)
		if err != nil {
			return err
		}
		now := s.clock()
		if old, err := tx.LiveBlock(ctx, agent.WorkspaceID, m, now); err == nil {
			until := "until lifted"
			if !old.ExpiresAt.IsZero() {
				until = "until " + old.ExpiresAt.UTC().Format("Jan 2, 2006 15:04 UTC")
			}
			return conflict("already_blocked", "this visitor is already blocked (%s); lift that block first to change it", until)
		} else if !isNotFound(err) {
			return err
		}
		b = store.Block{
			ID: newID("bl_"), WorkspaceID: agent.WorkspaceID, CustomerID: m.CustomerID, SessionID: m.SessionID, Addr: m.Addr,
			ConversationID: conv.ID, Reason: reason, CreatedBy: agent.ID, CreatedAt: now,
		}
		if in.For > 0 {
			b.ExpiresAt = now.Add(in.For)
		}
		if err := tx.CreateBlock(ctx, &b); err != nil {
			return err
		}
		if err := s.extendBlocksUntil(ctx, tx, agent.WorkspaceID, b.ExpiresAt); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, agent.WorkspaceID, "block.created", b.ID, blockDetail(b)); err != nil {
			return err
		}
		// Agents looking at the conversation see that its visitor is blocked.
		out.add(realtime.Event{Type: EventConversation, Data: conv}, WorkspaceTopic(conv.WorkspaceID))
		return nil
	})
	return b, err
}

// untilLifted stands for "no expiry" in Settings.BlocksUntil.
var untilLifted = time.Date(9999, time.December, 31, 0, 0, 0, 0, time.UTC)

// extendBlocksUntil makes the workspace's hint cover a new block that ends at expires (zero: until
// lifted), in the block's transaction, so no message can miss it.
func (s *Service) extendBlocksUntil(ctx context.Context, tx store.Tx, workspaceID string, expires time.Time) error {
	if expires.IsZero() {
		expires = untilLifted
	}
	w, err := tx.Workspace(ctx, workspaceID)
	if err != nil {
		return err
	}
	if !expires.After(w.Settings.BlocksUntil) {
		return nil
	}
	w.Settings.BlocksUntil = expires // not a settings change: UpdatedAt stays
	return tx.UpdateWorkspace(ctx, &w)
}

// resetBlocksUntil shortens the workspace's hint to the blocks still live after a lift, so a workspace
// whose blocks are all lifted spares its messages the query again.
func (s *Service) resetBlocksUntil(ctx context.Context, tx store.Tx, workspaceID string, now time.Time) error {
	end, forever, err := tx.LiveBlocksEnd(ctx, workspaceID, now)
	if err != nil {
		return err
	}
	if forever {
		end = untilLifted
	}
	w, err := tx.Workspace(ctx, workspaceID)
	if err != nil {
		return err
	}
	if w.Settings.BlocksUntil.Equal(end) {
		return nil
	}
	w.Settings.BlocksUntil = end
	return tx.UpdateWorkspace(ctx, &w)
}

// blockDetail describes a block for the audit trail: whom it names, until when, from which
// conversation. The reason stays out of it.
func blockDetail(b store.Block) string {
	var who string
	switch {
	case b.CustomerID != "":
		who = "customer " + b.CustomerID
	case b.Addr != "":
		who = fmt.Sprintf("visitor session %s and address %s", b.SessionID, b.Addr)
	default:
		who = "visitor session " + b.SessionID
	}
	until := "until lifted"
	if !b.ExpiresAt.IsZero() {
		until = "until " + b.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return who + ", " + until + ", from conversation " + b.ConversationID
}

// LiftBlock ends a live block of the agent's workspace and records block.lifted in the audit trail. A
// block of another workspace is 404 block_not_found; one already lifted or expired is 409 block_ended.
func (s *Service) LiftBlock(ctx context.Context, agent store.Agent, id string) (BlockEntry, error) {
	b, err := s.liftBlock(ctx, agent, id)
	if err != nil {
		return BlockEntry{}, err
	}
	_, names, err := s.agentNames(ctx, agent.WorkspaceID)
	if err != nil {
		return BlockEntry{}, err
	}
	return s.blockEntry(ctx, b, names, map[string]*store.Customer{}, s.clock())
}

func (s *Service) liftBlock(ctx context.Context, agent store.Agent, id string) (store.Block, error) {
	var b store.Block
	err := s.update(ctx, func(tx store.Tx, out *outbox) error {
		var err error
		if b, err = tx.Block(ctx, agent.WorkspaceID, id); isNotFound(err) {
			return blockNotFound(id)
		} else if err != nil {
			return err
		}
		now := s.clock()
		if !blockLive(b, now) {
			return conflict("block_ended", "this block has already ended")
		}
		if err := tx.LiftBlock(ctx, agent.WorkspaceID, id, agent.ID, now); err != nil {
			return err
		}
		b.LiftedAt, b.LiftedBy = now, agent.ID
		if err := s.resetBlocksUntil(ctx, tx, agent.WorkspaceID, now); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, agent.WorkspaceID, "block.lifted", b.ID, blockDetail(b)); err != nil {
			return err
		}
		if conv, err := conversationInWorkspace(ctx, tx, agent.WorkspaceID, b.ConversationID); err == nil {
			out.add(realtime.Event{Type: EventConversation, Data: conv}, WorkspaceTopic(conv.WorkspaceID))
		}
		return nil
	})
	return b, err
}

// Blocks lists the newest blocks of the agent's workspace (at most limit; live or not), newest first.
func (s *Service) Blocks(ctx context.Context, agent store.Agent, limit int) ([]BlockEntry, error) {
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	blocks, err := s.store.Blocks(ctx, agent.WorkspaceID, limit)
	if err != nil {
		return nil, err
	}
	_, names, err := s.agentNames(ctx, agent.WorkspaceID)
	if err != nil {
		return nil, err
	}
	customers := map[string]*store.Customer{}
	now := s.clock()
	out := make([]BlockEntry, len(blocks))
	for i, b := range blocks {
		if out[i], err = s.blockEntry(ctx, b, names, customers, now); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Service) blockEntry(ctx context.Context, b store.Block, names map[string]string, customers map[string]*store.Customer, now time.Time) (BlockEntry, error) {
	e := BlockEntry{Block: b, Live: blockLive(b, now), CreatedByName: names[b.CreatedBy], LiftedByName: names[b.LiftedBy]}
	if b.CustomerID != "" {
		c, seen := customers[b.CustomerID]
		if !seen {
			got, err := s.store.Customer(ctx, b.CustomerID)
			if err != nil && !isNotFound(err) {
				return e, err
			}
			if err == nil && got.WorkspaceID == b.WorkspaceID {
				c = &got
			}
			customers[b.CustomerID] = c
		}
		e.Customer = c
		return e, nil
	}
	conv, err := s.store.Conversation(ctx, b.ConversationID)
	if err == nil && conv.WorkspaceID == b.WorkspaceID {
		e.ClaimedName, e.ClaimedEmail = conv.ClaimedName, conv.ClaimedEmail
	} else if err != nil && !isNotFound(err) {
		return e, err
	}
	return e, nil
}

// VisitorBlock is what the console shows about blocking a conversation's visitor.
type VisitorBlock struct {
	// Block is the live block that stops the visitor, if any.
	Block *BlockEntry
	// SharedAddr is the visitor's recorded address when it is one that is never blocked (see
	// BlockAddr): a block would name their session only.
	SharedAddr string
	// Verified: a block would name the verified customer.
	Verified bool
}

// ConversationBlock tells whether a live block stops the visitor of a conversation of the agent's
// workspace, and what a new block would name.
func (s *Service) ConversationBlock(ctx context.Context, agent store.Agent, conv store.Conversation) (VisitorBlock, error) {
	if conv.WorkspaceID != agent.WorkspaceID {
		return VisitorBlock{}, problem.NotFound("conversation_not_found", "no conversation %q", conv.ID)
	}
	m, shared, err := conversationMatch(ctx, s.store, conv)
	if err != nil {
		return VisitorBlock{}, err
	}
	vb := VisitorBlock{SharedAddr: shared, Verified: conv.CustomerID != ""}
	now := s.clock()
	b, err := s.store.LiveBlock(ctx, agent.WorkspaceID, m, now)
	if isNotFound(err) {
		return vb, nil
	}
	if err != nil {
		return VisitorBlock{}, err
	}
	_, names, err := s.agentNames(ctx, agent.WorkspaceID)
	if err != nil {
		return VisitorBlock{}, err
	}
	e, err := s.blockEntry(ctx, b, names, map[string]*store.Customer{}, now)
	if err != nil {
		return VisitorBlock{}, err
	}
	vb.Block = &e
	return vb, nil
}
