package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// runPrometheusRules writes the spec of the one PrometheusRule in rendered manifests as a
// Prometheus rule file (JSON, which promtool reads as YAML), so that promtool can check the
// expressions and run the alert's unit tests.
func runPrometheusRules(args []string) error {
	fs := flag.NewFlagSet("prometheus-rules", flag.ContinueOnError)
	in := fs.String("manifests", "", "file holding the rendered chart")
	out := fs.String("out", "", "where to write the rule file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	var specs []json.RawMessage
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		var doc struct {
			Kind string          `json:"kind"`
			Spec json.RawMessage `json:"spec"`
		}
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("read %s: %w", *in, err)
		}
		if doc.Kind == "PrometheusRule" {
			specs = append(specs, doc.Spec)
		}
	}
	if len(specs) != 1 {
		return fmt.Errorf("%s: want one PrometheusRule, found %d", *in, len(specs))
	}
	return os.WriteFile(*out, append(specs[0], '\n'), 0o644)
}
