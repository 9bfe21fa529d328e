package mutation

import (
	"encoding/base64"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/ext"
)

const (
	// celSelf and celClusterName are the variables a CEL step sees.
	celSelf        = "self"
	celClusterName = "clusterName"

	// celCostLimit bounds the work one evaluation may do. Expressions are written by the provider
	// but run over consumer data, so a list a consumer made huge must not stall the sync. The
	// value is the per-expression limit Kubernetes uses for CRD validation rules.
	celCostLimit = 1_000_000
)

var (
	celEnvOnce sync.Once
	celEnv     *cel.Env
	celEnvErr  error
)

// celEnvironment returns the shared CEL environment; building one is costly and it is safe for
// concurrent use. Besides the standard library it offers the extensions Kubernetes users know
// from validation rules (strings, lists, sets, math, base64, optionals).
func celEnvironment() (*cel.Env, error) {
	celEnvOnce.Do(func() {
		celEnv, celEnvErr = cel.NewEnv(
			cel.Variable(celSelf, cel.DynType),
			cel.Variable(celClusterName, cel.StringType),
			cel.OptionalTypes(),
			ext.Strings(),
			ext.Lists(),
			ext.Sets(),
			ext.Math(),
			ext.Encoders(),
		)
	})
	return celEnv, celEnvErr
}

// compileCEL type-checks expr and plans its evaluation.
func compileCEL(expr string) (cel.Program, error) {
	env, err := celEnvironment()
	if err != nil {
		return nil, fmt.Errorf("creating the CEL environment: %w", err)
	}
	ast, issues := env.Compile(expr)
	if issues != nil && issues.Err() != nil {
		return nil, issues.Err()
	}
	prg, err := env.Program(ast, cel.CostLimit(celCostLimit))
	if err != nil {
		return nil, err
	}
	return prg, nil
}

// evalCEL evaluates prg over obj and returns its result as a JSON-compatible Go value.
func evalCEL(prg cel.Program, obj map[string]any, clusterName string) (any, error) {
	out, _, err := prg.Eval(map[string]any{
		celSelf:        obj,
		celClusterName: clusterName,
	})
	if err != nil {
		return nil, fmt.Errorf("evaluating: %w", err)
	}
	v, err := celToJSON(out)
	if err != nil {
		return nil, fmt.Errorf("converting the result: %w", err)
	}
	return v, nil
}

// celToJSON converts a CEL value to the plain values unstructured objects hold: map[string]any,
// []any, string, int64, float64, bool and nil. Anything else would make the object unserialisable
// (or panic in DeepCopyJSON), so it is converted the way the API server would store it (bytes as
// base64, timestamps as RFC 3339, durations as Go duration strings) or rejected.
func celToJSON(v ref.Val) (any, error) {
	switch v := v.(type) {
	case nil:
		return nil, fmt.Errorf("no value")
	case types.Null:
		return nil, nil
	case types.Bool:
		return bool(v), nil
	case types.Int:
		return int64(v), nil
	case types.Uint:
		if uint64(v) > math.MaxInt64 {
			return nil, fmt.Errorf("unsigned integer %d does not fit into a signed 64-bit integer", uint64(v))
		}
		return int64(v), nil
	case types.Double:
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%v cannot be represented in JSON", f)
		}
		return f, nil
	case types.String:
		return string(v), nil
	case types.Bytes:
		return base64.StdEncoding.EncodeToString(v), nil
	case types.Timestamp:
		return v.UTC().Format(time.RFC3339Nano), nil
	case types.Duration:
		return v.String(), nil
	case *types.Optional:
		if !v.HasValue() {
			return nil, fmt.Errorf("the result is an empty optional; use orValue() to give a default")
		}
		return celToJSON(v.GetValue())
	case *types.Err:
		return nil, v
	case traits.Mapper:
		out := map[string]any{}
		for it := v.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			key, ok := k.(types.String)
			if !ok {
				return nil, fmt.Errorf("map key %v is a %s, but object keys must be strings", k, k.Type().TypeName())
			}
			elem, err := celToJSON(v.Get(k))
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", string(key), err)
			}
			out[string(key)] = elem
		}
		return out, nil
	case traits.Lister:
		out := []any{}
		i := 0
		for it := v.Iterator(); it.HasNext() == types.True; i++ {
			elem, err := celToJSON(it.Next())
			if err != nil {
				return nil, fmt.Errorf("index %d: %w", i, err)
			}
			out = append(out, elem)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("a value of type %s cannot be stored in an object", v.Type().TypeName())
	}
}
