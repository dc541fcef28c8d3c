package console

import (
	"net/http"

	"github.com/parleyhq/parley/internal/buildinfo"
)

// homePage is the data of the root status page: what an operator opening the server's address needs,
// and nothing about the workspaces or their customers, since anyone may open it.
type homePage struct {
	Version      string
	Commit       string
	SetupPending bool
}

// Home serves GET / when no site (the demo shop) is configured.
func (c *Console) Home(w http.ResponseWriter, r *http.Request) {
	info := buildinfo.Read()
	p := homePage{Version: info.Version, Commit: info.Short(), SetupPending: c.SetupPending(r.Context())}
	c.render(w, r, http.StatusOK, "home", &view{Title: "Status", Data: p})
}
