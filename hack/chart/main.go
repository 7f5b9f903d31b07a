// Command chart keeps the Helm chart in charts/xpander-db-operator in step with the generated
// manifests under config/, and runs the parts of hack/chart/check.sh that are easier in Go
// than in a shell: a control plane for helm and kubectl to talk to, the comparison of the
// chart's Deployment arguments with the operator's own flags, the rendered CRDs compared with
// config's, a CRD with one field more for the upgrade test, and the PrometheusRule's rules as
// a file promtool reads.
//
// Usage, from the repository root:
//
//	go run ./hack/chart sync [-check]
//	go run ./hack/chart controlplane -assets DIR -dir DIR -- COMMAND [ARG...]
//	go run ./hack/chart flags -help FILE -manifests FILE [-all]
//	go run ./hack/chart crd-add-field -in FILE -out FILE -field NAME
//	go run ./hack/chart same-crds -manifests FILE
//	go run ./hack/chart prometheus-rules -manifests FILE -out FILE
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: chart sync|controlplane|flags|crd-add-field|same-crds|prometheus-rules [flags]")
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "sync":
		err = runSync(args)
	case "controlplane":
		var code int
		code, err = runControlPlane(args)
		if err == nil {
			os.Exit(code)
		}
	case "flags":
		err = runFlags(args)
	case "crd-add-field":
		err = runCRDAddField(args)
	case "same-crds":
		err = runSameCRDs(args)
	case "prometheus-rules":
		err = runPrometheusRules(args)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "chart %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
