package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// operatorFlag is one flag as the operator's --help describes it.
type operatorFlag struct {
	name, kind, def string
}

// chartDefaults are the flags whose value in the chart's default rendering differs from the
// operator's own default on purpose.
var chartDefaults = map[string]string{
	// The binary serves no metrics unless told to; the chart serves them, as config/ does.
	"metrics-bind-address": ":8443",
}

// runFlags holds the manager container's arguments in rendered manifests against the
// operator's flags: every argument must be a flag the operator has; by default, every flag
// must be passed with the operator's own default (flags whose default is empty, and the
// logging flags, may be left out); with -all, every flag must be passed. It is how the check
// notices a flag added to main.go and not to the chart.
func runFlags(args []string) error {
	fs := flag.NewFlagSet("flags", flag.ContinueOnError)
	helpFile := fs.String("help", "", "file holding the operator's --help output")
	manifests := fs.String("manifests", "", "file holding the rendered chart")
	all := fs.Bool("all", false, "require every flag to be passed, with any value")
	printOnly := fs.Bool("print", false, "only print the manager's arguments, one a line, in order")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *printOnly {
		ordered, err := managerArgList(*manifests)
		if err != nil {
			return err
		}
		for _, a := range ordered {
			fmt.Println(a)
		}
		return nil
	}
	flags, err := readHelp(*helpFile)
	if err != nil {
		return err
	}
	passed, err := managerArgs(*manifests)
	if err != nil {
		return err
	}

	var problems []string
	for name := range passed {
		if _, ok := flags[name]; !ok {
			problems = append(problems, fmt.Sprintf("--%s is passed but the operator has no such flag", name))
		}
	}
	for _, f := range flags {
		if f.name == "kubeconfig" { // in-cluster configuration is used instead
			continue
		}
		value, ok := passed[f.name]
		switch {
		case *all && !ok:
			problems = append(problems, fmt.Sprintf("--%s is not passed; the values expose no setting for it", f.name))
		case *all, !ok && (f.def == "" || f.def == "false" || strings.HasPrefix(f.name, "zap-")):
		case !ok:
			problems = append(problems, fmt.Sprintf("--%s is not passed by default (operator default %q)", f.name, f.def))
		default:
			want, override := chartDefaults[f.name]
			if !override {
				want = f.def
			}
			if !sameValue(f.kind, value, want) {
				problems = append(problems, fmt.Sprintf("--%s=%s by default, but the operator's default is %q",
					f.name, value, want))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("the chart's arguments disagree with the operator's flags:\n  %s",
			strings.Join(problems, "\n  "))
	}
	mode := "defaults"
	if *all {
		mode = "all flags set"
	}
	fmt.Printf("chart: manager arguments match the operator's %d flags (%s)\n", len(flags), mode)
	return nil
}

var defaultRE = regexp.MustCompile(`\(default (.*)\)$`)

// readHelp parses the flag package's PrintDefaults output.
func readHelp(path string) (map[string]operatorFlag, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	flags := map[string]operatorFlag{}
	var cur *operatorFlag
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "  -"):
			fields := strings.Fields(line)
			f := operatorFlag{name: strings.TrimPrefix(fields[0], "-"), kind: "bool"}
			if len(fields) > 1 {
				f.kind = fields[1]
			}
			flags[f.name] = f
			cur = &f
		case cur != nil && strings.HasPrefix(line, "    \t"):
			if m := defaultRE.FindStringSubmatch(line); m != nil {
				def := m[1]
				if unq, err := strconv.Unquote(def); err == nil {
					def = unq
				}
				cur.def = def
				flags[cur.name] = *cur
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	// The flag package leaves out defaults that are the type's zero value.
	for name, f := range flags {
		if f.def != "" {
			continue
		}
		switch f.kind {
		case "bool":
			f.def = "false"
		case "int", "float", "duration":
			f.def = "0"
		}
		flags[name] = f
	}
	if len(flags) < 10 {
		return nil, fmt.Errorf("%s: found only %d flags; is it the operator's --help output?", path, len(flags))
	}
	return flags, nil
}

// managerArgs returns the --name=value arguments of the manager container of the one
// Deployment in a rendered chart, by name.
func managerArgs(path string) (map[string]string, error) {
	list, err := managerArgList(path)
	if err != nil {
		return nil, err
	}
	args := map[string]string{}
	for _, a := range list {
		name, value, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !ok || !strings.HasPrefix(a, "--") {
			return nil, fmt.Errorf("argument %q is not of the form --name=value", a)
		}
		if _, dup := args[name]; dup {
			return nil, fmt.Errorf("--%s is passed twice", name)
		}
		args[name] = value
	}
	return args, nil
}

// managerArgList returns the arguments of the manager container of the one Deployment in a
// rendered chart.
func managerArgList(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var deployments []appsv1.Deployment
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		var meta struct{ Kind string }
		if len(raw) == 0 || string(raw) == "null" || json.Unmarshal(raw, &meta) != nil || meta.Kind != "Deployment" {
			continue
		}
		var d appsv1.Deployment
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		deployments = append(deployments, d)
	}
	if len(deployments) != 1 {
		return nil, fmt.Errorf("%s: want one Deployment, found %d", path, len(deployments))
	}
	for _, c := range deployments[0].Spec.Template.Spec.Containers {
		if c.Name == "manager" {
			return c.Args, nil
		}
	}
	return nil, fmt.Errorf("%s: the Deployment has no container named manager", path)
}

// sameValue compares a flag's value as the flag's type reads it, so that "5m" equals "5m0s".
func sameValue(kind, a, b string) bool {
	switch kind {
	case "duration":
		x, err1 := time.ParseDuration(a)
		y, err2 := time.ParseDuration(b)
		return err1 == nil && err2 == nil && x == y
	case "int", "float":
		x, err1 := strconv.ParseFloat(a, 64)
		y, err2 := strconv.ParseFloat(b, 64)
		return err1 == nil && err2 == nil && x == y
	case "bool":
		x, err1 := strconv.ParseBool(a)
		y, err2 := strconv.ParseBool(b)
		return err1 == nil && err2 == nil && x == y
	}
	return a == b
}
