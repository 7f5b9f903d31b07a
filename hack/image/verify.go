package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/x509"
	"debug/buildinfo"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// shells are file names that would give someone who gets into the container a shell. The
// image must have none of them anywhere.
var shells = []string{"sh", "bash", "ash", "dash", "zsh", "ksh", "busybox", "toybox"}

// secretLike matches names and values that look like they carry a credential.
var secretLike = regexp.MustCompile(`(?i)pass(word|wd)?|secret|token|api[_-]?key|credential|auth`)

// verifyOut receives verify's report; tests replace it.
var verifyOut io.Writer = os.Stdout

// checker gathers failures so that one run reports every problem, not just the first.
type checker struct{ failed []string }

func (c *checker) check(ok bool, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if ok {
		fmt.Fprintf(verifyOut, "ok    %s\n", msg)
		return
	}
	fmt.Fprintf(verifyOut, "FAIL  %s\n", msg)
	c.failed = append(c.failed, msg)
}

func runVerify(args []string) error {
	fs := flag.NewFlagSet("verify", flag.ExitOnError)
	tarPath := fs.String("tarball", "", "the `docker load` tarball to check (required)")
	layoutPath := fs.String("layout", "", "an OCI layout that must hold the same image")
	run := fs.Bool("run", true, "run /manager --help from the image's files")
	_ = fs.Parse(args)
	if *tarPath == "" {
		return errors.New("-tarball is required")
	}

	img, err := tarball.ImageFromPath(*tarPath, nil)
	if err != nil {
		return fmt.Errorf("read tarball: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var c checker

	checkConfig(&c, cfg)
	if *layoutPath != "" {
		if err := checkLayout(&c, img, *layoutPath); err != nil {
			return err
		}
	}

	files, err := flatten(img)
	if err != nil {
		return err
	}
	checkFiles(&c, files, cfg)

	if *run {
		if mgr, ok := files[managerPath]; ok {
			if err := runHelp(&c, files, mgr); err != nil {
				return err
			}
		}
	}

	if len(c.failed) > 0 {
		return fmt.Errorf("%d check(s) failed", len(c.failed))
	}
	fmt.Fprintln(verifyOut, "image verified")
	return nil
}

func checkConfig(c *checker, cfg *v1.ConfigFile) {
	cc := cfg.Config
	c.check(slices.Equal(cc.Entrypoint, entrypoint), "entrypoint is %q (got %q)", entrypoint, cc.Entrypoint)
	c.check(len(cc.Cmd) == 0, "no default arguments (got %q)", cc.Cmd)
	c.check(cc.User == imageUser, "user is %s (got %q)", imageUser, cc.User)
	c.check(cc.WorkingDir == workingDir, "working directory is %s (got %q)", workingDir, cc.WorkingDir)
	c.check(cfg.OS == "linux", "os is linux (got %q)", cfg.OS)

	allowed := map[string]bool{}
	for _, kv := range imageEnv {
		name, _, _ := strings.Cut(kv, "=")
		allowed[name] = true
	}
	for _, kv := range cc.Env {
		name, value, _ := strings.Cut(kv, "=")
		c.check(allowed[name] && !secretLike.MatchString(name) && !secretLike.MatchString(value),
			"env %s is expected and carries no secret", name)
	}
	for k, v := range cc.Labels {
		c.check(!secretLike.MatchString(v), "label %s carries no secret", k)
	}
	for _, k := range []string{"source", "version", "revision"} {
		key := "org.opencontainers.image." + k
		c.check(cc.Labels[key] != "", "label %s is set (%q)", key, cc.Labels[key])
	}
	c.check(len(cc.ExposedPorts) == 0 && len(cc.Volumes) == 0 && cc.Healthcheck == nil,
		"no ports, volumes or health check baked in (the Deployment says those)")
}

// checkLayout fails unless the OCI layout holds one image with the same config and layers as
// the tarball. The manifests themselves differ by design: a `docker save` tarball carries no
// manifest, and go-containerregistry describes it with Docker media types when reading it.
func checkLayout(c *checker, img v1.Image, dir string) error {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return fmt.Errorf("read layout: %w", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("read layout index: %w", err)
	}
	c.check(len(im.Manifests) == 1, "layout holds one image (got %d)", len(im.Manifests))
	if len(im.Manifests) != 1 {
		return nil
	}
	limg, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		return fmt.Errorf("read layout image: %w", err)
	}
	tcfg, err := img.ConfigName()
	if err != nil {
		return err
	}
	lcfg, err := limg.ConfigName()
	if err != nil {
		return err
	}
	c.check(tcfg == lcfg, "layout and tarball have the same config %s (layout: %s)", tcfg, lcfg)
	fmt.Fprintf(verifyOut, "      layout manifest digest %s\n", im.Manifests[0].Digest)
	return nil
}

// entry is one path of the image's flattened file system.
type entry struct {
	hdr  *tar.Header
	data []byte
}

// flatten applies the layers in order and returns the file system a container would see,
// keyed by path without a leading slash.
func flatten(img v1.Image) (map[string]entry, error) {
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]entry{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read image file system: %w", err)
		}
		p := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		files[p] = entry{hdr: h, data: data}
	}
}

func checkFiles(c *checker, files map[string]entry, cfg *v1.ConfigFile) {
	arch := cfg.Architecture
	var found []string
	for p := range files {
		if slices.Contains(shells, path.Base(p)) {
			found = append(found, "/"+p)
		}
	}
	slices.Sort(found)
	c.check(len(found) == 0, "no shell in the image (/bin/sh and the like; found %v)", found)
	_, binSh := files["bin/sh"]
	c.check(!binSh, "/bin/sh is absent")

	var setid []string
	for p, e := range files {
		if e.hdr.Mode&(04000|02000) != 0 {
			setid = append(setid, "/"+p)
		}
	}
	c.check(len(setid) == 0, "no setuid or setgid file (found %v)", setid)

	mgr, ok := files[managerPath]
	c.check(ok && mgr.hdr.Typeflag == tar.TypeReg, "/%s is a regular file", managerPath)
	if ok {
		c.check(mgr.hdr.Mode&0o111 == 0o111, "/%s is executable by everyone (mode %o)", managerPath, mgr.hdr.Mode)
		c.check(mgr.hdr.Mode&0o222 == 0, "/%s is read-only (mode %o)", managerPath, mgr.hdr.Mode)
		err := checkStatic(mgr.data, arch)
		c.check(err == nil, "/%s is a static %s ELF executable: no PT_INTERP, no DT_NEEDED (%v)",
			managerPath, arch, err)
		checkBuildInfo(c, mgr.data)
		// -s -w strip the symbols, but the string set with -X main.version stays in the data.
		v := cfg.Config.Labels["org.opencontainers.image.version"]
		c.check(v != "" && bytes.Contains(mgr.data, []byte(v)),
			"/%s carries the version label's value %q (set with -X main.version)", managerPath, v)
		// The operator loads spec.timeZone with time.LoadLocation, and this image has no
		// /usr/share/zoneinfo, so the binary must carry Go's copy (-tags timetzdata or an
		// import of time/tzdata). The embedded copy is a zip whose entries name the zones.
		_, sysZones := files["usr/share/zoneinfo/Europe/Berlin"]
		c.check(sysZones || bytes.Contains(mgr.data, []byte("Europe/Berlin")),
			"time zones are available (embedded in /%s or under /usr/share/zoneinfo)", managerPath)
	}

	ca, ok := files[caBundlePath]
	n := 0
	if ok {
		n = parseCerts(ca.data)
	}
	c.check(n > 0, "/%s holds CA certificates (%d parsed)", caBundlePath, n)

	passwd := string(files["etc/passwd"].data)
	group := string(files["etc/group"].data)
	c.check(strings.Contains(passwd, "\nnonroot:x:65532:65532:"), "/etc/passwd names user 65532 nonroot")
	c.check(strings.Contains(group, "\nnonroot:x:65532:"), "/etc/group names group 65532 nonroot")
	tmp, ok := files["tmp"]
	c.check(ok && tmp.hdr.Typeflag == tar.TypeDir && tmp.hdr.Mode&0o1777 == 0o1777, "/tmp is a sticky, world-writable directory")
}

// checkBuildInfo reads the settings the Go toolchain records in every binary it builds.
// Go leaves -ldflags out of that record under -trimpath, so the version stamp is checked apart.
func checkBuildInfo(c *checker, bin []byte) {
	info, err := buildinfo.Read(bytes.NewReader(bin))
	c.check(err == nil, "/%s carries Go build information (%v)", managerPath, err)
	if err != nil {
		return
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	c.check(settings["CGO_ENABLED"] == "0", "built with CGO_ENABLED=0 (got %q)", settings["CGO_ENABLED"])
	c.check(settings["-trimpath"] == "true", "built with -trimpath (got %q)", settings["-trimpath"])
	fmt.Fprintf(verifyOut, "      %s, %s\n", info.GoVersion, info.Main.Path)
}

func parseCerts(bundle []byte) int {
	n := 0
	for {
		var block *pem.Block
		block, bundle = pem.Decode(bundle)
		if block == nil {
			return n
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err == nil {
			n++
		}
	}
}

// runHelp writes the image's files into a temporary root and runs /manager --help in it. As
// root it runs it the way a container would: chrooted into those files, as user 65532, with the
// image's environment only, so it proves the binary needs nothing the image lacks. Otherwise it
// runs the extracted binary in place as the current user.
func runHelp(c *checker, files map[string]entry, mgr entry) error {
	root, err := os.MkdirTemp("", "image-root-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	if err := os.Chmod(root, 0o755); err != nil {
		return err
	}
	asRoot := os.Geteuid() == 0
	if err := writeRoot(root, files, asRoot); err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var cmd *exec.Cmd
	how := "in place as the current user"
	if asRoot {
		cmd = exec.CommandContext(ctx, "/"+managerPath, "--help")
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Chroot:     root,
			Credential: &syscall.Credential{Uid: nonrootID, Gid: nonrootID},
		}
		how = "chrooted into the image's files as 65532:65532"
	} else {
		cmd = exec.CommandContext(ctx, filepath.Join(root, managerPath), "--help")
		cmd.Dir = root
	}
	cmd.Env = imageEnv
	out, err := cmd.CombinedOutput()
	code := -1
	if cmd.ProcessState != nil {
		code = cmd.ProcessState.ExitCode()
	}
	usage := bytes.Contains(out, []byte("-leader-elect")) && bytes.Contains(out, []byte("-metrics-bind-address"))
	c.check(code == 0 && usage, "/%s --help runs %s: exit %d, prints the flags (%v)", managerPath, how, code, err)
	if !usage || code != 0 {
		fmt.Fprintf(verifyOut, "      output:\n%s\n", indent(string(out)))
	} else {
		lines := strings.SplitN(string(out), "\n", 4)
		fmt.Fprintf(verifyOut, "      %s\n", strings.Join(lines[:min(3, len(lines))], "\n      "))
	}
	return nil
}

// writeRoot lays out the image's directories and regular files under root. Links and devices
// are not expected in this image, and writing them is refused rather than half done.
func writeRoot(root string, files map[string]entry, chown bool) error {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths) // parents before children
	for _, p := range paths {
		if p == "" || p == "." {
			continue
		}
		e := files[p]
		dst := filepath.Join(root, filepath.FromSlash(p))
		if !strings.HasPrefix(dst, root+string(filepath.Separator)) {
			return fmt.Errorf("path %q escapes the root", p)
		}
		mode := os.FileMode(e.hdr.Mode & 0o777)
		if e.hdr.Mode&0o1000 != 0 {
			mode |= os.ModeSticky
		}
		switch e.hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(dst, e.data, 0o600); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: tar type %q is not expected in this image", p, e.hdr.Typeflag)
		}
		if chown {
			if err := os.Lchown(dst, e.hdr.Uid, e.hdr.Gid); err != nil {
				return err
			}
		}
		if err := os.Chmod(dst, mode); err != nil {
			return err
		}
	}
	return nil
}

func indent(s string) string {
	return "      " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n      ")
}
