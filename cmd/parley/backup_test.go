package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/seal"
	"github.com/parleyhq/parley/internal/store/dbtest"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// cliFail runs a parley command with --json that must fail, and returns its one JSON object and its
// exit status.
func cliFail(t *testing.T, env []string, data string, args ...string) (map[string]any, int) {
	t.Helper()
	args = append(args, "--json", "--data", data)
	cmd := exec.Command(parleyBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("parley %s: %v, want a failure\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, stderr.String())
	}
	var v map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("parley %s printed %q, not one JSON object", strings.Join(args, " "), out)
	}
	return v, exit.ExitCode()
}

// errorCode is the code of a --json failure.
func errorCode(v map[string]any) string {
	e, _ := v["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func copyFileTo(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// readConversation reads every message of the session's one conversation, following ?after= pages.
func readConversation(t *testing.T, srv *server, token string) []map[string]any {
	t.Helper()
	convs := mustCall(t, "GET", srv.url()+"/v1/widget/conversations", token, nil, 200)["conversations"].([]any)
	if len(convs) != 1 {
		t.Fatalf("the session has %d conversations, want 1", len(convs))
	}
	convID := convs[0].(map[string]any)["id"].(string)
	var msgs []map[string]any
	for after := ""; ; {
		page := mustCall(t, "GET", srv.url()+"/v1/widget/conversations/"+convID+"/messages?after="+after, token, nil, 200)["messages"].([]any)
		if len(page) == 0 {
			return msgs
		}
		for _, m := range page {
			msgs = append(msgs, m.(map[string]any))
		}
		after = msgs[len(msgs)-1]["id"].(string)
	}
}

// TestBackupUnderWriteLoad takes a backup with `parley backup` while several clients post messages
// as fast as the server takes them, restores it into a fresh folder with `parley restore`, starts the
// server there, and finds every message acknowledged before the backup started — with the id it was
// acknowledged with — and none sent after the backup finished.
func TestBackupUnderWriteLoad(t *testing.T) {
	data := t.TempDir()
	ws := cli(t, data, "workspace", "create", "--name", "Backup")["id"].(string)
	srv := startServer(t, data, "127.0.0.1:0", "--no-rate-limits")

	const clients = 4
	tokens := make([]string, clients)
	for i := range tokens {
		tokens[i] = mustCall(t, "POST", srv.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)["session_token"].(string)
	}
	type ack struct {
		clientID, id string
		sent, acked  time.Time
	}
	var (
		mu   sync.Mutex
		acks []ack
	)
	count := func(keep func(a ack) bool) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, a := range acks {
			if keep(a) {
				n++
			}
		}
		return n
	}
	all := func(ack) bool { return true }
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("waited a minute for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	httpc := &http.Client{Timeout: 30 * time.Second}
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				clientID := fmt.Sprintf("c%d-m%05d", c, i)
				sent := time.Now()
				status, body, err := call(httpc, "POST", srv.url()+"/v1/widget/messages", tokens[c],
					map[string]string{"body": "message " + clientID, "client_id": clientID})
				if err != nil || status != 201 {
					t.Errorf("%s: %d %v %v", clientID, status, body, err)
					return
				}
				acked := time.Now()
				mu.Lock()
				acks = append(acks, ack{clientID, body["message"].(map[string]any)["id"].(string), sent, acked})
				mu.Unlock()
			}
		}(c)
	}
	// Some history first, so the copy takes a while and writes land while it runs.
	waitUntil("300 acknowledged messages", func() bool { return count(all) >= 300 })

	backup := filepath.Join(t.TempDir(), "parley-backup.db")
	started := time.Now()
	out := cli(t, data, "backup", "--to", backup)
	finished := time.Now()
	waitUntil("messages sent after the backup", func() bool {
		return count(func(a ack) bool { return a.sent.After(finished) }) >= 20
	})
	close(stop)
	wg.Wait()
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	during := count(func(a ack) bool { return a.acked.After(started) && a.acked.Before(finished) })
	before := count(func(a ack) bool { return a.acked.Before(started) })
	t.Logf("%d messages acknowledged before the backup, %d while it ran, %d in all; backup: %v", before, during, count(all), out)
	if during == 0 {
		t.Fatal("no message was acknowledged while the backup ran: it was not taken under write load")
	}
	if out["file"] != backup || out["master_key"] != filepath.Join(data, seal.FileName) || !strings.Contains(out["reminder"].(string), "master key") {
		t.Errorf("backup printed %v", out)
	}
	if n, _ := out["messages"].(float64); int(n) < before {
		t.Errorf("the backup counts %v messages, fewer than the %d acknowledged before it", out["messages"], before)
	}

	restored := t.TempDir()
	res := cli(t, restored, "restore", "--from", backup)
	latest, _ := sqlite.LatestVersion()
	if res["schema_version"] != float64(latest) || res["migrates_on_start"] != false || len(res["kept"].([]any)) != 0 || res["master_key"] != "" {
		t.Errorf("restore printed %v", res)
	}
	// The backup is useless without its master key, which travels separately.
	copyFileTo(t, filepath.Join(data, seal.FileName), filepath.Join(restored, seal.FileName))
	srv = startServer(t, restored, "127.0.0.1:0")

	stored := map[string]string{} // client_id → id
	for c := 0; c < clients; c++ {
		for _, m := range readConversation(t, srv, tokens[c]) {
			stored[m["client_id"].(string)] = m["id"].(string)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, a := range acks {
		id, ok := stored[a.clientID]
		switch {
		case a.acked.Before(started) && !ok:
			t.Errorf("%s was acknowledged (as %s) before the backup started, but the restored database does not have it", a.clientID, a.id)
		case ok && id != a.id:
			t.Errorf("%s is stored as %s but was acknowledged as %s", a.clientID, id, a.id)
		case ok && a.sent.After(finished):
			t.Errorf("%s was sent after the backup finished, yet the restored database has it", a.clientID)
		}
	}
}

// TestRestoreRefusedWhileServing: restore refuses to replace the database of a running server (and
// changes nothing), and works once the server is gone, even killed with SIGKILL; the replaced database
// is kept, with its -wal, and opens whole.
func TestRestoreRefusedWhileServing(t *testing.T) {
	data := t.TempDir()
	cli(t, data, "workspace", "create", "--name", "Before")
	backup := filepath.Join(t.TempDir(), "backup.db")
	cli(t, data, "backup", "--to", backup)
	srv := startServer(t, data, "127.0.0.1:0")
	cli(t, data, "workspace", "create", "--name", "After") // another process, while serve runs

	v, code := cliFail(t, nil, data, "restore", "--from", backup, "--force")
	if errorCode(v) != "database_in_use" || code != 1 {
		t.Fatalf("restore while serving: exit %d, %v; want 1 and database_in_use", code, v)
	}
	if names := workspaceNames(t, data); names != "After,Before" {
		t.Fatalf("after a refused restore the database holds %s", names)
	}

	srv.kill() // the kernel releases the server's lock with the process
	v, code = cliFail(t, nil, data, "restore", "--from", backup)
	if errorCode(v) != "database_exists" || code != 1 {
		t.Fatalf("restore over a database without --force: exit %d, %v; want 1 and database_exists", code, v)
	}
	res := cli(t, data, "restore", "--from", backup, "--force")
	kept := res["kept"].([]any)
	if len(kept) == 0 || !strings.HasPrefix(kept[0].(string), filepath.Join(data, "parley.db.before-restore-")) {
		t.Fatalf("restore printed %v: the replaced database should be kept", res)
	}
	for _, stale := range []string{"parley.db-wal", "parley.db-shm"} {
		if _, err := os.Stat(filepath.Join(data, stale)); err == nil {
			t.Errorf("%s of the replaced database is still beside the restored one", stale)
		}
	}
	if names := workspaceNames(t, data); names != "Before" {
		t.Fatalf("the restored database holds %s, want the backup's Before only", names)
	}
	// The kept database, with whatever of its -wal the kill left, still holds everything.
	keptDir := t.TempDir()
	for _, f := range kept {
		name := strings.Replace(filepath.Base(f.(string)), filepath.Base(kept[0].(string)), "parley.db", 1)
		copyFileTo(t, f.(string), filepath.Join(keptDir, name))
	}
	copyFileTo(t, filepath.Join(data, seal.FileName), filepath.Join(keptDir, seal.FileName))
	if names := workspaceNames(t, keptDir); names != "After,Before" {
		t.Fatalf("the kept database holds %s, want After,Before", names)
	}
	startServer(t, data, "127.0.0.1:0") // and the restored one serves
}

// workspaceNames lists the workspaces of the data folder's database, sorted, comma-separated.
func workspaceNames(t *testing.T, data string) string {
	t.Helper()
	var names []string
	for _, w := range cli(t, data, "workspace", "list")["workspaces"].([]any) {
		names = append(names, w.(map[string]any)["name"].(string))
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

// TestRestoreRefusesWhatItCannotRun: a file that is not SQLite, a SQLite database that is not
// Parley's, and a Parley database from a newer version are refused, and the target is left untouched.
func TestRestoreRefusesWhatItCannotRun(t *testing.T) {
	dir := t.TempDir()
	notSQLite := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notSQLite, []byte("these are not the rows you are looking for\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.db")
	exec1(t, other, `CREATE TABLE things (x INTEGER)`)

	data := t.TempDir()
	cli(t, data, "workspace", "create", "--name", "Newer")
	newer := filepath.Join(dir, "newer.db")
	cli(t, data, "backup", "--to", newer)
	latest, err := sqlite.LatestVersion()
	if err != nil {
		t.Fatal(err)
	}
	exec1(t, newer, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_the_future.sql', 0)`, latest+1)

	for _, c := range []struct{ file, code, says string }{
		{notSQLite, "not_a_parley_database", "not a SQLite database"},
		{other, "not_a_parley_database", "not Parley's"},
		{newer, "schema_too_new", fmt.Sprintf("schema version %d", latest+1)},
	} {
		target := t.TempDir()
		v, code := cliFail(t, nil, target, "restore", "--from", c.file)
		msg, _ := v["error"].(map[string]any)["message"].(string)
		if errorCode(v) != c.code || code != 1 || !strings.Contains(msg, c.says) {
			t.Errorf("restore --from %s: exit %d, %v; want 1, %s, saying %q", filepath.Base(c.file), code, v, c.code, c.says)
		}
		entries, _ := os.ReadDir(target)
		for _, e := range entries {
			if e.Name() != "parley.db.lock" {
				t.Errorf("a refused restore left %s in the data folder", e.Name())
			}
		}
	}
}

// exec1 runs one statement on a SQLite file, creating it.
func exec1(t *testing.T, path, stmt string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(stmt, args...); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// TestBackupRefusesExistingFile: --to an existing file fails and leaves it as it was; --force
// replaces it; neither leaves a temporary file behind.
func TestBackupRefusesExistingFile(t *testing.T) {
	data := t.TempDir()
	cli(t, data, "workspace", "create", "--name", "Keep")
	dir := t.TempDir()
	to := filepath.Join(dir, "backup.db")
	if err := os.WriteFile(to, []byte("last night's backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	v, code := cliFail(t, nil, data, "backup", "--to", to)
	if errorCode(v) != "backup_exists" || code != 1 {
		t.Fatalf("backup to an existing file: exit %d, %v; want 1 and backup_exists", code, v)
	}
	if b, _ := os.ReadFile(to); string(b) != "last night's backup" {
		t.Fatalf("the existing file now holds %q", b)
	}
	out := cli(t, data, "backup", "--to", to, "--force")
	if out["workspaces"] != float64(1) {
		t.Errorf("backup --force printed %v", out)
	}
	if b, _ := os.ReadFile(to); !bytes.HasPrefix(b, []byte("SQLite format 3\x00")) {
		t.Fatalf("--force did not replace the file with a database: %q…", b[:min(len(b), 20)])
	}
	if info, err := os.Stat(to); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("the backup's mode is %v (%v), want 0600: it holds customers' conversations", info.Mode().Perm(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the backup folder holds %d files, want only the backup", len(entries))
	}
	if v, code := cliFail(t, nil, t.TempDir(), "backup", "--to", filepath.Join(dir, "none.db")); errorCode(v) != "no_database" || code != 1 {
		t.Errorf("backup of a folder without a database: exit %d, %v; want 1 and no_database", code, v)
	}
	if v, code := cliFail(t, nil, data, "backup", "--to", filepath.Join(dir, "missing", "b.db")); errorCode(v) != "error" || code != 1 {
		t.Errorf("backup into a folder that does not exist: exit %d, %v; want 1 and error", code, v)
	}
}

// TestBackupPostgresPrintsPgDump: with a PostgreSQL URL, backup writes nothing, fails, and prints the
// pg_dump command for the configured database without its password or pgx-only settings. The command
// is run as printed, against a fresh database Parley has migrated, and dumps Parley's tables.
func TestBackupPostgresPrintsPgDump(t *testing.T) {
	conn := dbtest.Connect(t) // skips without PostgreSQL
	defer conn.Close(context.Background())
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	dbName := "parley_backup_" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{dbName}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c := dbtest.Connect(t)
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{dbName}.Sanitize()+" WITH (FORCE)")
	})
	u, err := url.Parse(dbtest.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + dbName
	dbURL := u.String()
	key := seal.Encode(make([]byte, seal.KeySize))
	env := []string{"PARLEY_DATABASE_URL=" + dbURL, seal.EnvVar + "=" + key}
	data := t.TempDir()
	cliEnv(t, env, data, "migrate")

	dump := filepath.Join(t.TempDir(), "parley.dump")
	v, code := cliFail(t, env, data, "backup", "--to", dump)
	command, _ := v["command"].(string)
	if errorCode(v) != "use_database_tools" || code != 1 || v["tool"] != "pg_dump" ||
		!strings.HasPrefix(command, "pg_dump --format=custom --file="+dump+" ") || !strings.Contains(command, dbName) {
		t.Fatalf("backup on PostgreSQL: exit %d, %v", code, v)
	}
	if _, err := os.Stat(dump); err == nil {
		t.Fatal("backup on PostgreSQL wrote the file itself")
	}

	// A password and a pool setting are in Parley's URL, never in the printed command.
	withSecret := *u
	withSecret.User = url.UserPassword(u.User.Username(), "hunter2-secret")
	withSecret.RawQuery = u.RawQuery + "&pool_max_conns=4"
	v, _ = cliFail(t, []string{"PARLEY_DATABASE_URL=" + withSecret.String()}, data, "backup", "--to", dump)
	if s := fmt.Sprint(v); strings.Contains(s, "hunter2-secret") || strings.Contains(v["command"].(string), "pool_max_conns") {
		t.Fatalf("the printed command leaks the password or keeps pgx settings: %v", v)
	}
	if command != v["command"] {
		t.Errorf("without the password and pool setting the command should be the same: %q, then %q", command, v["command"])
	}

	if _, err := exec.LookPath("pg_dump"); err != nil {
		t.Skip("pg_dump is not installed: the printed command was checked but not run")
	}
	if out, err := exec.Command("sh", "-c", command).CombinedOutput(); err != nil {
		t.Fatalf("the printed command failed: %v\n%s", err, out)
	}
	list, err := exec.Command("pg_restore", "--list", dump).CombinedOutput()
	if err != nil || !strings.Contains(string(list), "TABLE public messages") {
		t.Fatalf("the dump does not hold Parley's messages table (%v):\n%s", err, list)
	}
}

// TestBackupHoldsAttachments: attachments are stored in the database, so a backup holds them; a file
// sent before the backup reads back whole from the restored database, with nothing else copied.
func TestBackupHoldsAttachments(t *testing.T) {
	data := t.TempDir()
	ws := cli(t, data, "workspace", "create", "--name", "Files")["id"].(string)
	srv := startServer(t, data, "127.0.0.1:0")
	tok := mustCall(t, "POST", srv.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)["session_token"].(string)

	file := pdfOf(700 << 10) // several chunks
	body, ct := multipartFile(t, "invoice.pdf", "application/pdf", file)
	req, _ := http.NewRequest("POST", srv.url()+"/v1/widget/attachments", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var uploaded struct {
		Attachment struct{ ID string } `json:"attachment"`
	}
	err = json.NewDecoder(resp.Body).Decode(&uploaded)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 201 || uploaded.Attachment.ID == "" {
		t.Fatalf("upload: %d, %+v, %v", resp.StatusCode, uploaded, err)
	}
	mustCall(t, "POST", srv.url()+"/v1/widget/messages", tok, map[string]any{"body": "the invoice", "attachments": []string{uploaded.Attachment.ID}}, 201)

	backup := filepath.Join(t.TempDir(), "backup.db")
	out := cli(t, data, "backup", "--to", backup) // while serving
	if out["attachments"] != float64(1) || out["attachment_bytes"] != float64(len(file)) {
		t.Errorf("backup printed %v, want 1 attachment of %d bytes", out, len(file))
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}

	restored := t.TempDir()
	cli(t, restored, "restore", "--from", backup)
	copyFileTo(t, filepath.Join(data, seal.FileName), filepath.Join(restored, seal.FileName))
	srv = startServer(t, restored, "127.0.0.1:0")
	req, _ = http.NewRequest("GET", srv.url()+"/v1/widget/attachments/"+uploaded.Attachment.ID, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, file) {
		t.Fatalf("the restored attachment: %d, %d bytes; want 200 and the %d bytes uploaded", resp.StatusCode, len(got), len(file))
	}
}
