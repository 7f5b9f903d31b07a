package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's fixed facts, which verify checks against as well.
const (
	managerPath  = "manager"
	caBundlePath = "etc/ssl/certs/ca-certificates.crt"
	nonrootID    = 65532
	imageUser    = "65532:65532"
	workingDir   = "/"
)

var entrypoint = []string{"/" + managerPath}

// imageEnv is the whole environment the image sets. Nothing secret belongs here: an image's
// config is readable by anyone who can pull it. verify rejects any name not in this list.
var imageEnv = []string{
	"PATH=/usr/local/bin:/usr/bin:/bin",
	"SSL_CERT_FILE=/" + caBundlePath,
}

type buildOptions struct {
	binary   string
	caBundle string
	tarball  string
	layout   string
	tag      string
	version  string
	revision string
	source   string
	os       string
	arch     string
	created  time.Time
}

func runBuild(args []string) error {
	var o buildOptions
	fs := flag.NewFlagSet("build", flag.ExitOnError)
	fs.StringVar(&o.binary, "binary", "", "the statically linked manager binary to put at /manager (required)")
	fs.StringVar(&o.caBundle, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt",
		"PEM bundle of CA certificates to put at /"+caBundlePath)
	fs.StringVar(&o.tarball, "tarball", "", "write a `docker load` tarball here")
	fs.StringVar(&o.layout, "layout", "", "write an OCI image layout into this directory (replaced if it exists)")
	fs.StringVar(&o.tag, "tag", "xpander-db-operator:dev", "the tag the tarball carries")
	fs.StringVar(&o.version, "version", "dev", "org.opencontainers.image.version")
	fs.StringVar(&o.revision, "revision", "unknown", "org.opencontainers.image.revision (a commit)")
	fs.StringVar(&o.source, "source", "https://github.com/xpander-ai/xpander-db-operator",
		"org.opencontainers.image.source")
	fs.StringVar(&o.os, "os", "linux", "the image's operating system")
	fs.StringVar(&o.arch, "arch", runtime.GOARCH, "the image's architecture (must match the binary)")
	_ = fs.Parse(args)
	if o.binary == "" || (o.tarball == "" && o.layout == "") {
		return errors.New("-binary and at least one of -tarball and -layout are required")
	}
	var err error
	if o.created, err = sourceDateEpoch(); err != nil {
		return err
	}

	img, err := assemble(o)
	if err != nil {
		return err
	}
	manifestDigest, err := img.Digest()
	if err != nil {
		return fmt.Errorf("image digest: %w", err)
	}
	configDigest, err := img.ConfigName()
	if err != nil {
		return fmt.Errorf("config digest: %w", err)
	}

	if o.layout != "" {
		if err := writeLayout(o, img); err != nil {
			return err
		}
	}
	tarSum := ""
	if o.tarball != "" {
		tag, err := name.NewTag(o.tag)
		if err != nil {
			return fmt.Errorf("parse tag %q: %w", o.tag, err)
		}
		if err := tarball.WriteToFile(o.tarball, tag, img); err != nil {
			return fmt.Errorf("write tarball: %w", err)
		}
		if tarSum, err = fileSHA256(o.tarball); err != nil {
			return err
		}
	}

	fmt.Printf("manifest digest  %s\n", manifestDigest)
	fmt.Printf("config digest    %s  (the image ID after docker load)\n", configDigest)
	if tarSum != "" {
		fmt.Printf("tarball sha256   %s  %s\n", tarSum, o.tarball)
	}
	return nil
}

// sourceDateEpoch is the one time stamped on everything the image holds: SOURCE_DATE_EPOCH when
// set (the reproducible-builds convention), else the Unix epoch.
func sourceDateEpoch() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	secs, err := strconv.ParseInt(s, 10, 64)
	if err != nil || secs < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a count of seconds", s)
	}
	return time.Unix(secs, 0).UTC(), nil
}

// assemble builds the image in memory: an empty base, a config, then two layers. The system
// files go in the first layer and the manager in the second, so that a new build of the
// operator changes only the second.
func assemble(o buildOptions) (v1.Image, error) {
	binary, err := os.ReadFile(o.binary)
	if err != nil {
		return nil, fmt.Errorf("read manager binary: %w", err)
	}
	if err := checkStatic(binary, o.arch); err != nil {
		return nil, fmt.Errorf("%s: %w", o.binary, err)
	}
	bundle, err := os.ReadFile(o.caBundle)
	if err != nil {
		return nil, fmt.Errorf("read CA bundle: %w", err)
	}
	if parseCerts(bundle) == 0 {
		return nil, fmt.Errorf("%s holds no certificate Go can parse", o.caBundle)
	}

	system, err := newLayer(systemFiles(bundle), o.created)
	if err != nil {
		return nil, fmt.Errorf("system layer: %w", err)
	}
	app, err := newLayer([]file{{path: managerPath, mode: 0o555, data: binary}}, o.created)
	if err != nil {
		return nil, fmt.Errorf("manager layer: %w", err)
	}

	cfg := &v1.ConfigFile{
		Architecture: o.arch,
		OS:           o.os,
		Created:      v1.Time{Time: o.created},
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			User:       imageUser,
			Entrypoint: entrypoint,
			WorkingDir: workingDir,
			Env:        imageEnv,
			Labels: map[string]string{
				"org.opencontainers.image.source":   o.source,
				"org.opencontainers.image.version":  o.version,
				"org.opencontainers.image.revision": o.revision,
				"org.opencontainers.image.title":    "xpander-db-operator",
			},
		},
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, fmt.Errorf("set config: %w", err)
	}
	created := v1.Time{Time: o.created}
	return mutate.Append(img,
		mutate.Addendum{Layer: system, History: v1.History{Created: created,
			CreatedBy: "hack/image: /etc/passwd, /etc/group, /etc/nsswitch.conf, CA bundle, /tmp, /home/nonroot"}},
		mutate.Addendum{Layer: app, History: v1.History{Created: created,
			CreatedBy: "hack/image: /manager " + o.version}},
	)
}

// systemFiles is the little of an operating system the manager needs: a name for user 65532,
// the CA bundle Go's crypto/x509 reads on Linux, a writable /tmp and a home directory.
func systemFiles(caBundle []byte) []file {
	return []file{
		{path: "etc/", mode: 0o755},
		{path: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{path: "etc/nsswitch.conf", mode: 0o644, data: []byte("hosts: files dns\n")},
		{path: "etc/passwd", mode: 0o644, data: []byte(
			"root:x:0:0:root:/root:/sbin/nologin\n" +
				"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{path: "etc/ssl/", mode: 0o755},
		{path: "etc/ssl/certs/", mode: 0o755},
		{path: caBundlePath, mode: 0o644, data: caBundle},
		{path: "home/", mode: 0o755},
		{path: "home/nonroot/", mode: 0o700, uid: nonrootID, gid: nonrootID},
		{path: "tmp/", mode: 0o1777},
	}
}

// newLayer wraps a tar of files as a gzip layer. It compresses once, here, with compress/gzip,
// whose output carries no time or name and depends only on the bytes, the level and the Go
// release; go-containerregistry then sees gzip and only hashes it, where given a plain tar it
// would compress again every time the layer is read (digest, layout, tarball).
func newLayer(files []file, modTime time.Time) (v1.Layer, error) {
	tarBytes, err := tarFiles(files, modTime)
	if err != nil {
		return nil, err
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(tarBytes); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(
		func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(gz.Bytes())), nil },
		tarball.WithMediaType(types.OCILayer),
	)
}

func writeLayout(o buildOptions, img v1.Image) error {
	// A layout only grows when appended to, so start from nothing to leave one image in it.
	if err := os.RemoveAll(o.layout); err != nil {
		return fmt.Errorf("clear layout: %w", err)
	}
	p, err := layout.Write(o.layout, empty.Index)
	if err != nil {
		return fmt.Errorf("write layout: %w", err)
	}
	err = p.AppendImage(img,
		layout.WithPlatform(v1.Platform{OS: o.os, Architecture: o.arch}),
		layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": o.tag}))
	if err != nil {
		return fmt.Errorf("write image to layout: %w", err)
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
