package script

import (
	"sort"

	"github.com/connectplus/connectplus/jsonv"
)

// fromGo converts the context map (sorted keys, for a stable object).
func fromGo(v any) any {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		o := jsonv.NewObject(len(keys))
		for _, k := range keys {
			o.Members = append(o.Members, jsonv.Member{Key: k, Value: fromGo(x[k])})
		}
		return o
	}
	return v
}
