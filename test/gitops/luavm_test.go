package gitops_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// The scripts run in a Lua state set up the way Argo CD sets up the one it runs
// resource customizations in: no standard libraries but the package, base and table ones,
// an os table that holds only date and time, the object as the global obj, and a one-second
// deadline. A script that reached for string.format or os.getenv would fail here as it would
// in Argo CD, rather than pass here and fail there.

// luaClock is the time os.date and os.time report to a script.
type luaClock func() time.Time

// runLua runs script against obj and returns what the script returned, turned back into Go
// values. like gives the shape of the expected result, so that an empty Lua table, which
// could be a list or a map, comes back as whichever like holds at that place.
func runLua(t *testing.T, script string, obj map[string]any, clock luaClock, like any) any {
	t.Helper()
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()

	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
	} {
		open := lua.P{Fn: L.NewFunction(lib.open), Protect: true}
		if err := L.CallByParam(open, lua.LString(lib.name)); err != nil {
			t.Fatalf("open Lua library %q: %v", lib.name, err)
		}
	}
	osFuncs := map[string]lua.LGFunction{"date": osDate(clock), "time": osTime(clock)}
	L.SetGlobal(lua.OsLibName, L.SetFuncs(L.NewTable(), osFuncs))
	L.PreloadModule(lua.OsLibName, func(L *lua.LState) int {
		L.Push(L.SetFuncs(L.NewTable(), osFuncs))
		return 1
	})

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	L.SetContext(ctx)

	value, err := toLua(L, obj)
	if err != nil {
		t.Fatalf("turn the object into a Lua table: %v", err)
	}
	L.SetGlobal("obj", value)
	if err := L.DoString(script); err != nil {
		t.Fatalf("run Lua script: %v", err)
	}
	got, err := fromLua(L.Get(-1), like)
	if err != nil {
		t.Fatalf("read what the Lua script returned: %v", err)
	}
	return got
}

// osTime is os.time without arguments, which is all the scripts here use.
func osTime(clock luaClock) lua.LGFunction {
	return func(L *lua.LState) int {
		if L.GetTop() != 0 {
			L.RaiseError("the test sandbox's os.time takes no arguments")
		}
		L.Push(lua.LNumber(clock().Unix()))
		return 1
	}
}

// osDate is os.date for the strftime flags a timestamp needs. A leading "!" means UTC, as in
// Lua and in Argo CD. Any other flag fails the script, so that a script cannot come to rely
// on a flag nobody checked against Argo CD's implementation.
func osDate(clock luaClock) lua.LGFunction {
	layouts := map[byte]string{'Y': "2006", 'm': "01", 'd': "02", 'H': "15", 'M': "04", 'S': "05"}
	return func(L *lua.LState) int {
		format := L.CheckString(1)
		now := clock()
		if rest, ok := strings.CutPrefix(format, "!"); ok {
			format, now = rest, now.UTC()
		}
		var b strings.Builder
		for i := 0; i < len(format); i++ {
			if format[i] != '%' {
				b.WriteByte(format[i])
				continue
			}
			i++
			if i == len(format) {
				L.RaiseError("os.date format %q ends in %%", format)
			}
			switch layout, ok := layouts[format[i]]; {
			case format[i] == '%':
				b.WriteByte('%')
			case ok:
				b.WriteString(now.Format(layout))
			default:
				L.RaiseError("the test sandbox's os.date does not know %%%c", format[i])
			}
		}
		L.Push(lua.LString(b.String()))
		return 1
	}
}

// toLua turns a decoded JSON object (maps, slices, strings, booleans, numbers, nil) into
// Lua values the way Argo CD hands objects to its scripts: maps become tables keyed by
// string, slices become tables indexed from 1, every number becomes a Lua number.
func toLua(L *lua.LState, v any) (lua.LValue, error) {
	switch v := v.(type) {
	case nil:
		return lua.LNil, nil
	case bool:
		return lua.LBool(v), nil
	case string:
		return lua.LString(v), nil
	case int64:
		return lua.LNumber(v), nil
	case int:
		return lua.LNumber(v), nil
	case float64:
		return lua.LNumber(v), nil
	case []any:
		tbl := L.CreateTable(len(v), 0)
		for i, item := range v {
			lv, err := toLua(L, item)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			tbl.Append(lv)
		}
		return tbl, nil
	case map[string]any:
		tbl := L.CreateTable(0, len(v))
		for key, item := range v {
			lv, err := toLua(L, item)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			tbl.RawSetString(key, lv)
		}
		return tbl, nil
	default:
		return nil, fmt.Errorf("no Lua value for a %T", v)
	}
}

// fromLua turns a Lua value back into the Go values toLua takes. Whole numbers come back as
// int64, as they do when Kubernetes decodes JSON into an unstructured object. Lua has one
// kind of table for lists and maps: a table whose keys are exactly 1..n is a list, and an
// empty table takes its kind from like (Argo CD makes the same repair to what its action
// scripts return).
func fromLua(v lua.LValue, like any) (any, error) {
	switch v := v.(type) {
	case *lua.LNilType:
		return nil, nil
	case lua.LBool:
		return bool(v), nil
	case lua.LString:
		return string(v), nil
	case lua.LNumber:
		f := float64(v)
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), nil
		}
		return f, nil
	case *lua.LTable:
		return tableFromLua(v, like)
	default:
		return nil, fmt.Errorf("no Go value for a Lua %s", v.Type())
	}
}

func tableFromLua(tbl *lua.LTable, like any) (any, error) {
	keys := 0
	tbl.ForEach(func(lua.LValue, lua.LValue) { keys++ })

	n := tbl.MaxN()
	if keys == 0 {
		if _, ok := like.([]any); ok {
			return []any{}, nil
		}
		return map[string]any{}, nil
	}
	if n == keys {
		likeList, _ := like.([]any)
		list := make([]any, n)
		for i := range n {
			var likeItem any
			if i < len(likeList) {
				likeItem = likeList[i]
			}
			item, err := fromLua(tbl.RawGetInt(i+1), likeItem)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			list[i] = item
		}
		return list, nil
	}

	likeMap, _ := like.(map[string]any)
	m := make(map[string]any, keys)
	var err error
	tbl.ForEach(func(key, value lua.LValue) {
		if err != nil {
			return
		}
		name, ok := key.(lua.LString)
		if !ok {
			err = fmt.Errorf("a table with a %s key that is not a list", key.Type())
			return
		}
		var item any
		item, err = fromLua(value, likeMap[string(name)])
		if err != nil {
			err = fmt.Errorf("%s: %w", name, err)
			return
		}
		m[string(name)] = item
	})
	return m, err
}
