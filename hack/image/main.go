// Command image builds the operator's container image without a Docker engine or a registry,
// and checks an image built that way.
//
//	image build  -binary bin/image/manager -tarball bin/x.tar -layout bin/image/oci ...
//	image verify -tarball bin/x.tar -layout bin/image/oci
//
// build assembles the image from scratch: there is no base image to pull, so every file the
// container sees (the manager, the CA bundle, /etc/passwd and /etc/group) is written here, with
// fixed owners, modes and times, so that the same inputs give the same bytes. It writes an OCI
// image layout and a tarball in the format `docker save` writes, which `docker load` reads.
//
// verify reads that tarball back and fails unless the image is what build meant it to be; see
// verify.go for the list. hack/image/check.sh runs both.
//
// It is a module of its own so that go-containerregistry stays out of the operator's go.mod.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "build":
		err = runBuild(os.Args[2:])
	case "verify":
		err = runVerify(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "image %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: image build|verify [flags]  (image build -h lists the flags)")
	os.Exit(2)
}
