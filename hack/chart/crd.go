package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// runCRDAddField writes a copy of a CRD with one more string field in spec, in every
// version's schema: the upgrade test installs the chart, then upgrades it with this CRD in
// place of the generated one, and looks for the field. The copy is written as JSON, which
// Helm's fromYaml reads as well as YAML.
func runCRDAddField(args []string) error {
	fs := flag.NewFlagSet("crd-add-field", flag.ContinueOnError)
	in := fs.String("in", "", "CRD to read (YAML)")
	out := fs.String("out", "", "where to write the CRD with the extra field")
	field := fs.String("field", "", "name of the string field to add under spec")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *out == "" || *field == "" {
		return fmt.Errorf("-in, -out and -field are required")
	}
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	var crd map[string]any
	if err := utilyaml.NewYAMLOrJSONDecoder(f, 4096).Decode(&crd); err != nil {
		return fmt.Errorf("read %s: %w", *in, err)
	}

	versions, _ := dig(crd, "spec", "versions").([]any)
	if len(versions) == 0 {
		return fmt.Errorf("%s: no spec.versions", *in)
	}
	for _, v := range versions {
		props, ok := dig(v, "schema", "openAPIV3Schema", "properties", "spec", "properties").(map[string]any)
		if !ok {
			return fmt.Errorf("%s: a version has no spec properties in its schema", *in)
		}
		if _, exists := props[*field]; exists {
			return fmt.Errorf("%s: spec already has a field %q", *in, *field)
		}
		props[*field] = map[string]any{
			"type":        "string",
			"description": "Added by hack/chart's upgrade test; not part of the operator's API.",
		}
	}
	b, err := json.MarshalIndent(crd, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(*out, append(b, '\n'), 0o644)
}

// dig walks nested maps by key and returns what it finds, or nil.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// runSameCRDs checks that every CRD in config/crd/bases comes out of the chart unchanged:
// the chart's template reads each file, adds labels and annotations and writes it again,
// and this compares the result's spec and name with the source's.
func runSameCRDs(args []string) error {
	fs := flag.NewFlagSet("same-crds", flag.ContinueOnError)
	manifests := fs.String("manifests", "", "file holding the rendered chart")
	sources := fs.String("sources", crdSourceDir, "directory of the generated CRDs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rendered := map[string]any{}
	docs, err := readDocs(*manifests)
	if err != nil {
		return err
	}
	for _, d := range docs {
		if d["kind"] == "CustomResourceDefinition" {
			rendered[fmt.Sprint(dig(d, "metadata", "name"))] = d["spec"]
		}
	}
	files, err := filepath.Glob(filepath.Join(*sources, "*.yaml"))
	if err != nil {
		return err
	}
	if len(files) != len(rendered) {
		return fmt.Errorf("%d CRDs in %s, %d in the rendered chart", len(files), *sources, len(rendered))
	}
	for _, path := range files {
		src, err := readDocs(path)
		if err != nil {
			return err
		}
		if len(src) != 1 {
			return fmt.Errorf("%s: want one document, found %d", path, len(src))
		}
		name := fmt.Sprint(dig(src[0], "metadata", "name"))
		spec, ok := rendered[name]
		if !ok {
			return fmt.Errorf("the rendered chart has no CRD %s", name)
		}
		if !reflect.DeepEqual(spec, src[0]["spec"]) {
			return fmt.Errorf("the rendered CRD %s differs from %s", name, path)
		}
	}
	fmt.Printf("chart: the rendered CRDs equal config's (%d)\n", len(files))
	return nil
}

// readDocs decodes every non-empty YAML document of a file.
func readDocs(path string) ([]map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var docs []map[string]any
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		var d map[string]any
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			return docs, nil
		} else if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if len(d) > 0 {
			docs = append(docs, d)
		}
	}
}
