package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// staticBinary builds a tiny static program, standing in for the manager, once per test run.
func staticBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	// It imports time, as the manager does, so that -tags timetzdata embeds the zone database.
	prog := `package main

import "time"

var version = "dev"

func main() { println("-leader-elect -metrics-bind-address", version, time.UTC.String()) }
`
	if err := os.WriteFile(src, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "manager")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "timetzdata",
		"-ldflags", "-s -w -X main.version=v0.0.0-test", "-o", out, "main.go")
	cmd.Dir = dir // outside any module: an ad hoc package of one file
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build stand-in binary: %v\n%s", err, b)
	}
	return out
}

func options(t *testing.T, binary string) buildOptions {
	t.Helper()
	ca := "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(ca); err != nil {
		t.Skipf("no CA bundle on this machine: %v", err)
	}
	return buildOptions{
		binary: binary, caBundle: ca, tag: "example:test", version: "v0.0.0-test",
		revision: "abc", source: "https://example.invalid/x", os: "linux", arch: runtime.GOARCH,
		created: time.Unix(1700000000, 0).UTC(),
	}
}

func TestTheSameInputsGiveTheSameImage(t *testing.T) {
	o := options(t, staticBinary(t))
	digests := map[v1.Hash]bool{}
	for range 2 {
		img, err := assemble(o)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests[d] = true
	}
	if len(digests) != 1 {
		t.Fatalf("two builds gave %d digests: %v", len(digests), digests)
	}

	o.created = o.created.Add(time.Second)
	img, err := assemble(o)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	if digests[d] {
		t.Fatal("a different SOURCE_DATE_EPOCH gave the same digest: the time is not reaching the image")
	}
}

func TestABuiltImagePassesVerify(t *testing.T) {
	o := options(t, staticBinary(t))
	dir := t.TempDir()
	o.tarball, o.layout = filepath.Join(dir, "image.tar"), filepath.Join(dir, "oci")
	img, err := assemble(o)
	if err != nil {
		t.Fatal(err)
	}
	writeTarball(t, o.tarball, img)
	if err := writeLayout(o, img); err != nil {
		t.Fatal(err)
	}
	// The stand-in's output has the flags verify looks for, and it exits 0.
	var out bytes.Buffer
	verifyOut = &out
	t.Cleanup(func() { verifyOut = os.Stdout })
	if err := runVerify([]string{"-tarball", o.tarball, "-layout", o.layout}); err != nil {
		t.Fatalf("verify failed on a good image: %v\n%s", err, out.String())
	}
}

func TestVerifyRejectsAnImageWithAShellARootUserAndASecret(t *testing.T) {
	o := options(t, staticBinary(t))
	img, err := assemble(o)
	if err != nil {
		t.Fatal(err)
	}
	shell, err := newLayer([]file{{path: "bin/", mode: 0o755}, {path: "bin/sh", mode: 0o755, data: []byte("x")}}, o.created)
	if err != nil {
		t.Fatal(err)
	}
	if img, err = mutate.AppendLayers(img, shell); err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.Config.User = "0"
	cfg.Config.Env = append(cfg.Config.Env, "DB_PASSWORD=hunter2")
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bad.tar")
	writeTarball(t, path, img)

	var out bytes.Buffer
	verifyOut = &out
	t.Cleanup(func() { verifyOut = os.Stdout })
	err = runVerify([]string{"-tarball", path, "-run=false"})

	if err == nil {
		t.Fatalf("verify passed a bad image:\n%s", out.String())
	}
	for _, want := range []string{
		"FAIL  user is 65532:65532",
		"FAIL  /bin/sh is absent",
		"FAIL  env DB_PASSWORD is expected and carries no secret",
	} {
		if !bytes.Contains(out.Bytes(), []byte(want)) {
			t.Errorf("verify's report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestBuildRefusesADynamicallyLinkedBinary(t *testing.T) {
	// /bin/ls on any Debian machine asks for the dynamic loader.
	b, err := os.ReadFile("/bin/ls")
	if err != nil {
		t.Skip(err)
	}
	if err := checkStatic(b, runtime.GOARCH); err == nil {
		t.Fatal("checkStatic accepted /bin/ls")
	}
}

func writeTarball(t *testing.T, path string, img v1.Image) {
	t.Helper()
	tag, err := name.NewTag("example:test")
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		t.Fatal(err)
	}
}
