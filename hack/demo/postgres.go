package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// postgres is a throwaway PostgreSQL server on 127.0.0.1 that accepts only TLS connections
// authenticated with SCRAM-SHA-256.
type postgres struct {
	binDir  string
	dir     string // owned by the server's OS user: data, socket, certificate, log
	dataDir string
	sockDir string
	logPath string
	port    int
	account serverAccount
	certPEM []byte // the server's self-signed certificate, which is also its CA
}

// serverAccount is the OS account the server runs as.
type serverAccount struct {
	name     string
	uid, gid int
	// cred switches to the postgres OS user when the demo runs as root, since PostgreSQL
	// refuses to run as root. It is nil when the demo runs as anyone else, who runs the
	// server as themselves.
	cred *syscall.Credential
}

// lookupServerAccount returns the account the server will run as.
func lookupServerAccount() (serverAccount, error) {
	if os.Geteuid() != 0 {
		return serverAccount{name: "(current user)", uid: os.Geteuid(), gid: os.Getegid()}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return serverAccount{}, fmt.Errorf("running as root needs a postgres OS user to run the database: %w", err)
	}
	a := serverAccount{name: u.Username}
	a.uid, _ = strconv.Atoi(u.Uid)
	a.gid, _ = strconv.Atoi(u.Gid)
	a.cred = &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid), Groups: []uint32{}}
	return a, nil
}

// canEnter fails, with a hint, when the account cannot get through every directory above
// dir, as with a --workdir under /root.
func (a serverAccount) canEnter(dir string) error {
	if a.cred == nil {
		return nil
	}
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		perm := fi.Mode().Perm()
		ok := perm&0o001 != 0 ||
			(int(st.Uid) == a.uid && perm&0o100 != 0) ||
			(int(st.Gid) == a.gid && perm&0o010 != 0)
		if !ok {
			return fmt.Errorf("the %s OS user, which runs the database, cannot enter %s (%v): "+
				"choose a --workdir it can reach, e.g. under /tmp", a.name, d, fi.Mode())
		}
		if d == "/" {
			return nil
		}
	}
}

// findPostgresBin returns the newest /usr/lib/postgresql/<version>/bin, as Debian lays the
// server out, or the directory of pg_ctl on PATH.
func findPostgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	dirs = slices.DeleteFunc(dirs, func(d string) bool {
		_, err := os.Stat(filepath.Join(d, "pg_ctl"))
		return err != nil
	})
	version := func(d string) int {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		return v
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	if len(dirs) > 0 {
		return dirs[0], nil
	}
	if path, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(path), nil
	}
	return "", errors.New("no PostgreSQL server binaries: install postgresql (Debian) or pass --pg-bin-dir")
}

// newPostgres prepares dir for a server run by account.
func newPostgres(binDir, dir string, account serverAccount) (*postgres, error) {
	pg := &postgres{
		binDir:  binDir,
		dir:     dir,
		dataDir: filepath.Join(dir, "data"),
		sockDir: filepath.Join(dir, "sock"),
		logPath: filepath.Join(dir, "postgres.log"),
		account: account,
	}
	for _, d := range []string{dir, pg.sockDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
		if err := pg.own(d); err != nil {
			return nil, err
		}
	}
	return pg, nil
}

// own hands path to the server's OS user.
func (pg *postgres) own(path string) error {
	if pg.account.cred == nil {
		return nil
	}
	return os.Chown(path, pg.account.uid, pg.account.gid)
}

// tool runs one of the server's programs as the server's OS user.
func (pg *postgres) tool(ctx context.Context, stdin string, timeout time.Duration, name string, args ...string) (result, error) {
	env := append(baseEnv(), "LC_ALL=C", "HOME="+pg.dir)
	return command{
		argv:    append([]string{filepath.Join(pg.binDir, name)}, args...),
		env:     env,
		dir:     pg.dir,
		stdin:   stdin,
		timeout: timeout,
		// A process group of its own keeps a Ctrl-C in the terminal from cutting pg_ctl
		// short; the demo stops the server itself.
		attr: &syscall.SysProcAttr{Credential: pg.account.cred, Setpgid: true},
	}.run(ctx)
}

// writeFile writes a file the server reads, owned by the server's OS user.
func (pg *postgres) writeFile(path string, data []byte, perm os.FileMode) error {
	if err := os.WriteFile(path, data, perm); err != nil {
		return err
	}
	if err := os.Chmod(path, perm); err != nil {
		return err
	}
	return pg.own(path)
}

// initialise creates the cluster and writes its TLS, authentication and network settings.
func (pg *postgres) initialise(ctx context.Context) error {
	_, err := pg.tool(ctx, "", 60*time.Second, "initdb",
		"--pgdata="+pg.dataDir, "--username=postgres", "--auth-local=trust", "--auth-host=reject",
		"--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
	if err != nil {
		return fmt.Errorf("initdb: %w", err)
	}

	cert, key, err := selfSignedCert("127.0.0.1")
	if err != nil {
		return err
	}
	certPath, keyPath := filepath.Join(pg.dir, "server.crt"), filepath.Join(pg.dir, "server.key")
	if err := pg.writeFile(certPath, cert, 0o644); err != nil {
		return err
	}
	pg.certPEM = cert
	// PostgreSQL refuses a key that others can read.
	if err := pg.writeFile(keyPath, key, 0o600); err != nil {
		return err
	}

	// Local connections over the socket, which sits in a directory only the server's OS user
	// can enter, are how the demo administers the server. Over TCP only TLS with SCRAM is let
	// in; a connection without TLS is rejected by name so that the refusal says why.
	hba := strings.Join([]string{
		"# TYPE    DATABASE USER ADDRESS      METHOD",
		"local     all      postgres              trust",
		"hostnossl all      all      0.0.0.0/0    reject",
		"hostnossl all      all      ::/0         reject",
		"hostssl   all      all      127.0.0.1/32 scram-sha-256",
		"",
	}, "\n")
	if err := pg.writeFile(filepath.Join(pg.dataDir, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return err
	}
	conf := strings.Join([]string{
		"",
		"# Written by hack/demo.",
		"listen_addresses = '127.0.0.1'",
		fmt.Sprintf("unix_socket_directories = '%s'", pg.sockDir),
		"ssl = on",
		fmt.Sprintf("ssl_cert_file = '%s'", certPath),
		fmt.Sprintf("ssl_key_file = '%s'", keyPath),
		"password_encryption = 'scram-sha-256'",
		"log_connections = on",
		"fsync = off",
		"",
	}, "\n")
	f, err := os.OpenFile(filepath.Join(pg.dataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(conf); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// start starts the server on a free loopback port. PostgreSQL cannot be told to pick a port
// itself, so the demo picks one and tries again if another process took it in the meantime.
// pg_ctl is not cancelled with ctx: killed half-way it could leave a server that nobody
// knows about, while on its own it gives up after its --timeout.
func (pg *postgres) start(ctx context.Context) error {
	var lastErr error
	for range 3 {
		if err := ctx.Err(); err != nil {
			return err
		}
		port, err := freePort()
		if err != nil {
			return err
		}
		_, err = pg.tool(context.Background(), "", 60*time.Second, "pg_ctl", "start", "--wait",
			"--timeout=45", "--pgdata="+pg.dataDir, "--log="+pg.logPath, "--options=-p "+strconv.Itoa(port))
		if err == nil {
			pg.port = port
			return nil
		}
		lastErr = err
		log, _ := os.ReadFile(pg.logPath)
		if !strings.Contains(string(log), "could not bind") {
			break
		}
	}
	return fmt.Errorf("pg_ctl start: %w", lastErr)
}

// stop stops the server, if one runs, with a fast shutdown: open sessions are ended, not
// waited for. The data directory's postmaster.pid says whether one runs, whatever start got
// to before it returned.
func (pg *postgres) stop() error {
	pidFile := filepath.Join(pg.dataDir, "postmaster.pid")
	if _, err := os.Stat(pidFile); os.IsNotExist(err) {
		return nil
	}
	if _, err := pg.tool(context.Background(), "", 45*time.Second, "pg_ctl", "stop", "--mode=fast",
		"--wait", "--timeout=30", "--pgdata="+pg.dataDir); err != nil {
		return fmt.Errorf("pg_ctl stop: %w", err)
	}
	if _, err := os.Stat(pidFile); err == nil {
		return errors.New("postgres left postmaster.pid behind after stopping")
	}
	return nil
}

// admin runs SQL as the superuser over the local socket. SQL goes on standard input so that
// passwords in it never appear in a process listing.
func (pg *postgres) admin(ctx context.Context, sql string) (string, error) {
	res, err := pg.tool(ctx, sql, 30*time.Second, "psql", "--no-psqlrc", "--quiet",
		"--set=ON_ERROR_STOP=1", "--no-align", "--tuples-only",
		"--host="+pg.sockDir, "--port="+strconv.Itoa(pg.port), "--username=postgres",
		"--dbname=postgres")
	if err != nil {
		return "", fmt.Errorf("psql as superuser: %w", err)
	}
	return strings.TrimSpace(res.stdout), nil
}

// quoteLiteral quotes s as an SQL string literal (standard_conforming_strings is on).
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// quoteIdent quotes s as an SQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// freePort asks the kernel for a loopback port that nothing listens on right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
