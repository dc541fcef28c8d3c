package httpapi_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// These tests keep docs/api.md, the project's API reference, honest: they read the code — the routes
// this package registers, every error code any package constructs, the reasons a widget session ends
// and the WebSocket close codes — and fail when the reference leaves one out (or lists a route or code
// the code does not have). They parse the source rather than run it, so a new route or code is caught
// however rarely it is reached. They read only files inside the repository.

const apiReference = "../../docs/api.md"

func readAPIReference(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(apiReference)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// codeSpans returns the text of every inline code span (`…`) of a Markdown document, fenced blocks
// left out.
func codeSpans(doc string) []string {
	doc = regexp.MustCompile("(?s)```.*?```").ReplaceAllString(doc, "")
	var out []string
	for _, m := range regexp.MustCompile("`([^`\n]+)`").FindAllStringSubmatch(doc, -1) {
		out = append(out, m[1])
	}
	return out
}

// parseDir parses the non-test Go files of one directory.
func parseDir(t *testing.T, fset *token.FileSet, dir string) []*ast.File {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// registeredRoutes returns the pattern of every mux.Handle / mux.HandleFunc call of this package, with
// "{$}" (the mux's "exactly this path") dropped: the reference writes GET /console/ for GET /console/{$}.
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	var routes []string
	for _, f := range parseDir(t, fset, ".") {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: a route registered with a pattern that is not a string literal; the reference test cannot read it", fset.Position(call.Pos()))
				return true
			}
			pattern, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			routes = append(routes, strings.ReplaceAll(pattern, "{$}", ""))
			return true
		})
	}
	if len(routes) < 20 {
		t.Fatalf("found only %d routes in the package's source; has routes.go moved?", len(routes))
	}
	return routes
}

var methodRoute = regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE|OPTIONS|HEAD) (/\S*)`)

// TestAPIReferenceListsEveryRoute fails when a route the server registers is missing from docs/api.md,
// or when the reference names a METHOD /path the server does not register.
func TestAPIReferenceListsEveryRoute(t *testing.T) {
	spans := codeSpans(readAPIReference(t))
	routes := registeredRoutes(t)

	for _, r := range routes {
		method, _, hasMethod := strings.Cut(r, " ")
		documented := slices.ContainsFunc(spans, func(s string) bool {
			if s == r {
				return true
			}
			if !hasMethod {
				// A route for every method, such as the catch-alls, may be written with the method it serves.
				return strings.HasSuffix(s, " "+r) && methodRoute.MatchString(s)
			}
			rest, ok := strings.CutPrefix(s, r)
			return ok && (rest[0] == ' ' || rest[0] == '?' || rest[0] == '[')
		})
		if !documented {
			t.Errorf("route %q (method %q) is not in docs/api.md: write it as a code span, `%s`", r, method, r)
		}
	}

	for _, s := range spans {
		m := methodRoute.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		path, _, _ := strings.Cut(m[2], "?")
		path, _, _ = strings.Cut(path, "[")
		named := m[1] + " " + path
		if !slices.Contains(routes, named) && !slices.Contains(routes, path) {
			t.Errorf("docs/api.md names `%s`, which the server does not register", named)
		}
	}
}

// httpStatus names the net/http status constants the code may use; the values come from net/http.
var httpStatus = map[string]int{
	"StatusBadRequest":            http.StatusBadRequest,
	"StatusUnauthorized":          http.StatusUnauthorized,
	"StatusPaymentRequired":       http.StatusPaymentRequired,
	"StatusForbidden":             http.StatusForbidden,
	"StatusNotFound":              http.StatusNotFound,
	"StatusMethodNotAllowed":      http.StatusMethodNotAllowed,
	"StatusNotAcceptable":         http.StatusNotAcceptable,
	"StatusRequestTimeout":        http.StatusRequestTimeout,
	"StatusConflict":              http.StatusConflict,
	"StatusGone":                  http.StatusGone,
	"StatusLengthRequired":        http.StatusLengthRequired,
	"StatusPreconditionFailed":    http.StatusPreconditionFailed,
	"StatusRequestEntityTooLarge": http.StatusRequestEntityTooLarge,
	"StatusUnsupportedMediaType":  http.StatusUnsupportedMediaType,
	"StatusUnprocessableEntity":   http.StatusUnprocessableEntity,
	"StatusTooManyRequests":       http.StatusTooManyRequests,
	"StatusInternalServerError":   http.StatusInternalServerError,
	"StatusNotImplemented":        http.StatusNotImplemented,
	"StatusBadGateway":            http.StatusBadGateway,
	"StatusServiceUnavailable":    http.StatusServiceUnavailable,
	"StatusGatewayTimeout":        http.StatusGatewayTimeout,
}

// constructor describes a function that builds a problem.Error from a code it is given: which argument
// is the code, and either which argument is the status or the status it always uses.
type constructor struct {
	codeArg   int
	statusArg int // -1: the status is fixed
	status    int
}

// goFile is one parsed source file of the module.
type goFile struct {
	pkg  string
	file *ast.File
}

// moduleSources parses every non-test Go file of the module (the repository root is two levels up).
func moduleSources(t *testing.T, fset *token.FileSet) []goFile {
	t.Helper()
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("the module root is not at %s: %v", root, err)
	}
	var files []goFile
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files = append(files, goFile{pkg: f.Name.Name, file: f})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// paramIndex returns the position of the parameter called name, or -1.
func paramIndex(fn *ast.FuncDecl, name string) int {
	i := 0
	for _, field := range fn.Type.Params.List {
		if len(field.Names) == 0 {
			i++
			continue
		}
		for _, n := range field.Names {
			if n.Name == name {
				return i
			}
			i++
		}
	}
	return -1
}

// callee names the function a call calls as "pkg.Func": a local call by the file's package, a
// qualified one by its qualifier (the problem package is imported under its own name everywhere).
func callee(pkg string, call *ast.CallExpr) string {
	switch f := call.Fun.(type) {
	case *ast.Ident:
		return pkg + "." + f.Name
	case *ast.SelectorExpr:
		if x, ok := f.X.(*ast.Ident); ok {
			return x.Name + "." + f.Sel.Name
		}
	}
	return ""
}

// statusValue reads an http.StatusXxx argument.
func statusValue(e ast.Expr) (int, bool) {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return 0, false
	}
	if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "http" {
		return 0, false
	}
	s, ok := httpStatus[sel.Sel.Name]
	return s, ok
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// isProblemError reports whether a composite literal builds a problem.Error.
func isProblemError(pkg string, lit *ast.CompositeLit) bool {
	switch ty := lit.Type.(type) {
	case *ast.Ident:
		return pkg == "problem" && ty.Name == "Error"
	case *ast.SelectorExpr:
		x, ok := ty.X.(*ast.Ident)
		return ok && x.Name == "problem" && ty.Sel.Name == "Error"
	}
	return false
}

// errorCodes returns every error code the module's code constructs, with the statuses it uses each
// with. Codes are read where they are written as string literals: the code argument of problem.New
// and of every function that passes its own code parameter on to one (problem.NotFound, chat's
// conflict and forbidden, …, found by following calls), and the Code of a problem.Error literal. A code
// given any other way cannot be read, and fails the test so that the reference cannot fall behind.
func errorCodes(t *testing.T) map[string][]int {
	t.Helper()
	fset := token.NewFileSet()
	files := moduleSources(t, fset)

	ctors := map[string]constructor{}
	funcs := map[string]*ast.FuncDecl{}
	pkgOf := map[*ast.FuncDecl]string{}
	for _, gf := range files {
		for _, d := range gf.file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || paramIndex(fn, "code") < 0 {
				continue
			}
			key := gf.pkg + "." + fn.Name.Name
			funcs[key], pkgOf[fn] = fn, gf.pkg
			if s := paramIndex(fn, "status"); s >= 0 && gf.pkg == "problem" {
				ctors[key] = constructor{codeArg: paramIndex(fn, "code"), statusArg: s}
			}
		}
	}
	// A function with a code parameter that passes it to a constructor is a constructor too.
	for changed := true; changed; {
		changed = false
		for key, fn := range funcs {
			if _, known := ctors[key]; known || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				c, ok := ctors[callee(pkgOf[fn], call)]
				if !ok || c.codeArg >= len(call.Args) || !isIdent(call.Args[c.codeArg], "code") {
					return true
				}
				status := c.status
				if c.statusArg >= 0 {
					if status, ok = statusValue(call.Args[c.statusArg]); !ok {
						return true
					}
				}
				ctors[key] = constructor{codeArg: paramIndex(fn, "code"), statusArg: -1, status: status}
				changed = true
				return false
			})
		}
	}
	if _, ok := ctors["problem.New"]; !ok {
		t.Fatal("problem.New was not recognised as a constructor of errors; has its signature changed?")
	}

	codes := map[string][]int{}
	add := func(pos token.Pos, code ast.Expr, status int, inCtor bool) {
		lit, ok := code.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			if !(inCtor && isIdent(code, "code")) {
				t.Errorf("%s: an error code given as an expression, not a string literal; the reference test cannot read it", fset.Position(pos))
			}
			return
		}
		c, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(codes[c], status) {
			codes[c] = append(codes[c], status)
		}
	}
	for _, gf := range files {
		for _, d := range gf.file.Decls {
			fn, _ := d.(*ast.FuncDecl)
			inCtor := fn != nil && fn.Recv == nil && paramIndex(fn, "code") >= 0
			if inCtor {
				_, inCtor = ctors[gf.pkg+"."+fn.Name.Name]
			}
			ast.Inspect(d, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					c, ok := ctors[callee(gf.pkg, n)]
					if !ok || c.codeArg >= len(n.Args) {
						return true
					}
					status := c.status
					if c.statusArg >= 0 {
						s, ok := statusValue(n.Args[c.statusArg])
						if !ok && !(inCtor && isIdent(n.Args[c.statusArg], "status")) && !isIdent(n.Args[c.codeArg], "code") {
							t.Errorf("%s: an error's status is not an http.StatusXxx constant the reference test knows", fset.Position(n.Pos()))
						}
						status = s
					}
					add(n.Pos(), n.Args[c.codeArg], status, inCtor)
				case *ast.CompositeLit:
					if !isProblemError(gf.pkg, n) {
						return true
					}
					var code ast.Expr
					status := 0
					for _, el := range n.Elts {
						kv, ok := el.(*ast.KeyValueExpr)
						if !ok {
							continue
						}
						switch {
						case isIdent(kv.Key, "Code"):
							code = kv.Value
						case isIdent(kv.Key, "Status"):
							status, _ = statusValue(kv.Value)
						}
					}
					if code != nil {
						add(n.Pos(), code, status, inCtor)
					}
				}
				return true
			})
		}
	}
	// Inside problem.New the code and status are its parameters, not literals: nothing to record.
	delete(codes, "")
	if len(codes) < 30 {
		t.Fatalf("found only %d error codes in the module's source; is the parser looking in the right place?", len(codes))
	}
	return codes
}

// errorTable reads the table of the reference's "## Error codes" section: code → statuses.
func errorTable(t *testing.T, doc string) map[string][]int {
	t.Helper()
	_, section, ok := strings.Cut(doc, "\n## Error codes\n")
	if !ok {
		t.Fatal(`docs/api.md has no "## Error codes" section`)
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9_]+)` \\| ([^|]*)\\|")
	table := map[string][]int{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		if _, dup := table[m[1]]; dup {
			t.Errorf("docs/api.md's error table lists %q twice", m[1])
		}
		table[m[1]] = nil
		for _, s := range regexp.MustCompile(`\b[1-5]\d\d\b`).FindAllString(m[2], -1) {
			n, _ := strconv.Atoi(s)
			table[m[1]] = append(table[m[1]], n)
		}
	}
	return table
}

// TestAPIReferenceListsEveryErrorCode fails when the code constructs an error code that docs/api.md's
// error table does not list with that status, or when the table lists a code nothing constructs.
func TestAPIReferenceListsEveryErrorCode(t *testing.T) {
	table := errorTable(t, readAPIReference(t))
	codes := errorCodes(t)
	for code, statuses := range codes {
		documented, ok := table[code]
		if !ok {
			t.Errorf("error code %q (status %v) is not in docs/api.md's error table", code, statuses)
			continue
		}
		for _, s := range statuses {
			if s != 0 && !slices.Contains(documented, s) {
				t.Errorf("error code %q is answered with status %d, which docs/api.md's error table does not give (it says %v)", code, s, documented)
			}
		}
	}
	for code := range table {
		if _, ok := codes[code]; !ok {
			t.Errorf("docs/api.md's error table lists %q, which no code constructs", code)
		}
	}
}

// TestAPIReferenceListsEverySessionEndAndCloseCode fails when a reason a widget session ends for (the
// chat package's Reason constants), or a WebSocket close code this package uses, is missing from
// docs/api.md.
func TestAPIReferenceListsEverySessionEndAndCloseCode(t *testing.T) {
	doc := readAPIReference(t)
	fset := token.NewFileSet()

	var reasons []string
	for _, f := range parseDir(t, fset, filepath.Join("..", "chat")) {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Reason") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						reasons = append(reasons, v)
					}
				}
			}
		}
	}
	if len(reasons) < 4 {
		t.Fatalf("found only %d session-end reasons in internal/chat; have the Reason constants moved?", len(reasons))
	}
	for _, r := range reasons {
		if !strings.Contains(doc, "| `"+r+"` |") {
			t.Errorf("session_ended reason %q is not in docs/api.md's table of reasons", r)
		}
	}

	// Close codes: this package's own (constants of type websocket.StatusCode) and the library's it uses.
	library := map[string]websocket.StatusCode{
		"StatusNormalClosure":   websocket.StatusNormalClosure,
		"StatusGoingAway":       websocket.StatusGoingAway,
		"StatusProtocolError":   websocket.StatusProtocolError,
		"StatusUnsupportedData": websocket.StatusUnsupportedData,
		"StatusPolicyViolation": websocket.StatusPolicyViolation,
		"StatusMessageTooBig":   websocket.StatusMessageTooBig,
		"StatusInternalError":   websocket.StatusInternalError,
		"StatusTryAgainLater":   websocket.StatusTryAgainLater,
	}
	closeCodes := map[int]bool{}
	for _, f := range parseDir(t, fset, ".") {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				if sel, ok := n.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "StatusCode" {
					for _, v := range n.Values {
						if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.INT {
							c, _ := strconv.Atoi(lit.Value)
							closeCodes[c] = true
						}
					}
				}
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok && x.Name == "websocket" && strings.HasPrefix(n.Sel.Name, "Status") {
					if c, ok := library[n.Sel.Name]; ok {
						closeCodes[int(c)] = true
					} else if n.Sel.Name != "StatusCode" {
						t.Errorf("%s: websocket.%s is not known to this test; add it to its table and to docs/api.md", fset.Position(n.Pos()), n.Sel.Name)
					}
				}
			}
			return true
		})
	}
	if len(closeCodes) < 3 {
		t.Fatalf("found only %d close codes in this package; have they moved?", len(closeCodes))
	}
	for c := range closeCodes {
		if !strings.Contains(doc, "| "+strconv.Itoa(c)+" |") {
			t.Errorf("WebSocket close code %d is not in docs/api.md's table of close codes", c)
		}
	}
}
