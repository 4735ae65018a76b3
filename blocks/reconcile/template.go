package reconcile

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Entity types of "Map fields for reconciliation" (spec §8.3), as the keys
// of the fileTemplate JSON.
const (
	EntityRegularLineItems = "regular_transaction_line_items"
	EntityReturnLineItems  = "return_transaction_line_items"
	EntityCustomer         = "customer"
	EntityProduct          = "product"
	// EntityTestControl is the Test & Control variant's only type (§3.2.7).
	EntityTestControl = "test_and_control"
)

// role says how a mapped field takes part in the comparison.
type role uint8

const (
	// roleIdentity fields together identify one entity: a destination
	// entity matches a row when every mapped identity field is equal
	// (§8.3: "map several fields to identify a unique transaction").
	roleIdentity role = iota + 1
	// roleCompare fields are compared once the entity is found; a
	// difference is a field-level mismatch, the entity still exists.
	roleCompare
)

// kind says how two values are compared.
type kind uint8

const (
	kindText   kind = iota
	kindDate        // source parsed with existingDateFormat, compared as yyyy-MM-dd
	kindNumber      // compared numerically (100 = 100.00)
)

// capField is one Capillary field of an entity type.
type capField struct {
	Name string
	Role role
	Kind kind
	// Line marks line-item level fields: they are read from each line item
	// of a transaction, and a row matches one line item.
	Line bool
	// Paths are where the value sits in a destination entity, first match
	// wins: the documented API answer shape and the shape the sandbox
	// stores (the submitted payload). "@attr" names a sandbox attribute;
	// "[]" marks the line-item array.
	Paths []string
	Doc   string
}

// entityType is one entity type of the catalogue.
type entityType struct {
	Name string
	// Kind is the sandbox entity kind it is looked up in.
	Kind string
	// TxnType is the Capillary transaction type (REGULAR, RETURN).
	TxnType string
	// Required lists the fields every mapping of this type must include:
	// without them no lookup can be made.
	Required []string
	Fields   []capField
	Doc      string
}

var lineItemPaths = []string{"lineItemsV2[]", "lineItems[]", "billDetails.lineItems[]"}

func txnFields() []capField {
	return []capField{
		{Name: "bill_number", Role: roleIdentity, Paths: []string{"billDetails.billNumber", "billNumber", "@billNumber"}, Doc: "the bill (transaction) number"},
		{Name: "store_code", Role: roleIdentity, Paths: []string{"billDetails.billingStore.code", "@till"}, Doc: "the store or till code the bill was attributed to"},
		{Name: "bill_date", Role: roleIdentity, Kind: kindDate, Paths: []string{"billDetails.billingTime", "billingDate"}, Doc: "the billing date (existingDateFormat in the file; compared as a date)"},
		{Name: "customer_identifier", Role: roleIdentity, Paths: []string{"@identifierValue", "identifierValue", "customer.mobile"}, Doc: "the customer's identifier value (mobile, email or external id)"},
		{Name: "bill_amount", Role: roleCompare, Kind: kindNumber, Paths: []string{"billDetails.amount", "billAmount"}, Doc: "the bill amount"},
		{Name: "gross_amount", Role: roleCompare, Kind: kindNumber, Paths: []string{"billDetails.grossAmount", "grossAmount"}, Doc: "the gross amount"},
		{Name: "discount", Role: roleCompare, Kind: kindNumber, Paths: []string{"billDetails.discount", "discount"}, Doc: "the bill discount"},
		{Name: "item_code", Role: roleIdentity, Line: true, Paths: []string{"itemCode", "sku"}, Doc: "the line item's item (SKU) code"},
		{Name: "item_amount", Role: roleCompare, Kind: kindNumber, Line: true, Paths: []string{"amount"}, Doc: "the line item amount"},
		{Name: "item_qty", Role: roleCompare, Kind: kindNumber, Line: true, Paths: []string{"qty", "quantity"}, Doc: "the line item quantity"},
		{Name: "item_rate", Role: roleCompare, Kind: kindNumber, Line: true, Paths: []string{"rate"}, Doc: "the line item rate"},
	}
}

var catalogue = map[string]*entityType{
	EntityRegularLineItems: {Name: EntityRegularLineItems, Kind: "transaction", TxnType: "REGULAR", Required: []string{"bill_number"}, Fields: txnFields(),
		Doc: "regular (sale) transactions and their line items, looked up by bill number"},
	EntityReturnLineItems: {Name: EntityReturnLineItems, Kind: "transaction", TxnType: "RETURN", Required: []string{"bill_number"}, Fields: txnFields(),
		Doc: "return transactions and their line items, looked up by bill number"},
	EntityCustomer: {Name: EntityCustomer, Kind: "customer", Fields: []capField{
		{Name: "mobile", Role: roleIdentity, Paths: []string{"@mobile", "identifiers[type=mobile].value", "profiles[0].identifiers[type=mobile].value", "mobile"}, Doc: "the mobile number"},
		{Name: "email", Role: roleIdentity, Paths: []string{"@email", "identifiers[type=email].value", "profiles[0].identifiers[type=email].value", "email"}, Doc: "the e-mail address"},
		{Name: "external_id", Role: roleIdentity, Paths: []string{"@externalId", "identifiers[type=externalId].value", "profiles[0].identifiers[type=externalId].value", "external_id"}, Doc: "the external id"},
		{Name: "first_name", Role: roleCompare, Paths: []string{"firstName", "profiles[0].firstName", "firstname"}, Doc: "the first name"},
		{Name: "last_name", Role: roleCompare, Paths: []string{"lastName", "profiles[0].lastName", "lastname"}, Doc: "the last name"},
	}, Doc: "registered customers, looked up by the first mapped identifier (mobile, email, external id); the others must agree"},
	EntityProduct: {Name: EntityProduct, Kind: "product", Required: []string{"sku_code"}, Fields: []capField{
		{Name: "sku_code", Role: roleIdentity, Paths: []string{"sku", "skuCode", "code"}, Doc: "the SKU code"},
		{Name: "name", Role: roleCompare, Paths: []string{"name", "description"}, Doc: "the product name"},
		{Name: "brand", Role: roleCompare, Paths: []string{"brand.code", "brand.name", "brand"}, Doc: "the brand"},
		{Name: "category", Role: roleCompare, Paths: []string{"category.code", "category.name", "category"}, Doc: "the category"},
		{Name: "price", Role: roleCompare, Kind: kindNumber, Paths: []string{"price", "mrp"}, Doc: "the price"},
	}, Doc: "product SKUs, looked up by SKU code"},
	EntityTestControl: {Name: EntityTestControl, Kind: "tnc_change", Fields: []capField{
		{Name: "mobile", Role: roleIdentity, Paths: []string{"@identifierValue"}, Doc: "the Mobile column"},
		{Name: "email", Role: roleIdentity, Paths: []string{"@identifierValue"}, Doc: "the Email column"},
		{Name: "external_id", Role: roleIdentity, Paths: []string{"@identifierValue"}, Doc: "the External ID column"},
		{Name: "test_control", Role: roleCompare, Paths: []string{"@status", "testControlStatus", "testControl.type"}, Doc: "the Test and Control column (test or control)"},
	}, Doc: "customers' test/control status: a row is 1 when the customer exists and already has that status, 0 when it must be sent"},
}

// Mapping is a parsed fileTemplate: one entity type and, for each mapped
// Capillary field, the source column holding it.
type Mapping struct {
	Entity *entityType
	Fields []MappedField
}

// MappedField is one mapped Capillary field.
type MappedField struct {
	capField
	Column string
}

// identity returns the mapped identity fields, header fields first.
func (m *Mapping) identity() []MappedField { return m.byRole(roleIdentity) }

func (m *Mapping) compared() []MappedField { return m.byRole(roleCompare) }

func (m *Mapping) byRole(r role) []MappedField {
	var out []MappedField
	for _, f := range m.Fields {
		if f.Role == r {
			out = append(out, f)
		}
	}
	return out
}

// hasLine reports whether a line-item field is mapped: rows then match
// single line items, not whole bills.
func (m *Mapping) hasLine() bool {
	for _, f := range m.Fields {
		if f.Line {
			return true
		}
	}
	return false
}

// ParseFileTemplate reads the fileTemplate JSON: an object with exactly one
// entity type key whose value maps Capillary field names to source column
// names, e.g. {"regular_transaction_line_items": {"bill_number": "Bill No",
// "store_code": "Store", "bill_date": "Date", "bill_amount": "Amount"}}.
// allowed restricts the entity types (the T&C variant has one).
func ParseFileTemplate(src string, allowed []string) (*Mapping, error) {
	var raw map[string]map[string]string
	dec := json.NewDecoder(strings.NewReader(src))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("fileTemplate must be a JSON object {\"<entity type>\": {\"<Capillary field>\": \"<source column>\"}}: %v", err)
	}
	if len(raw) != 1 {
		names := make([]string, 0, len(raw))
		for k := range raw {
			names = append(names, k)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("fileTemplate must map exactly one entity type (one of %s), got %d%s", strings.Join(allowed, ", "), len(raw), listSuffix(names))
	}
	var name string
	var cols map[string]string
	for k, v := range raw {
		name, cols = k, v
	}
	et := catalogue[name]
	if et == nil || !contains(allowed, name) {
		return nil, fmt.Errorf("fileTemplate: unknown entity type %q; expected one of %s", name, strings.Join(allowed, ", "))
	}
	m := &Mapping{Entity: et}
	var unknown []string
	for _, f := range et.Fields {
		col, ok := cols[f.Name]
		if !ok {
			continue
		}
		col = strings.TrimSpace(col)
		if col == "" {
			return nil, fmt.Errorf("fileTemplate.%s.%s: the source column is empty", name, f.Name)
		}
		m.Fields = append(m.Fields, MappedField{capField: f, Column: col})
	}
	for k := range cols {
		if _, ok := et.field(k); !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("fileTemplate.%s: unknown Capillary field(s) %s; the fields of %s are %s", name, strings.Join(unknown, ", "), name, strings.Join(et.fieldNames(), ", "))
	}
	for _, r := range et.Required {
		if _, ok := cols[r]; !ok {
			return nil, fmt.Errorf("fileTemplate.%s: map %s: it is what the destination is searched by", name, r)
		}
	}
	if len(m.identity()) == 0 {
		return nil, fmt.Errorf("fileTemplate.%s: map at least one identifying field (%s)", name, strings.Join(et.namesByRole(roleIdentity), ", "))
	}
	if et.Kind == "transaction" {
		for _, f := range m.Fields {
			if f.Line && f.Role == roleCompare && !m.hasLineIdentity() {
				return nil, fmt.Errorf("fileTemplate.%s.%s: a line-item field needs item_code mapped too, to know which line item to compare", name, f.Name)
			}
		}
	}
	return m, nil
}

func (m *Mapping) hasLineIdentity() bool {
	for _, f := range m.Fields {
		if f.Line && f.Role == roleIdentity {
			return true
		}
	}
	return false
}

func (et *entityType) field(name string) (capField, bool) {
	for _, f := range et.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return capField{}, false
}

func (et *entityType) fieldNames() []string {
	out := make([]string, len(et.Fields))
	for i, f := range et.Fields {
		out[i] = f.Name
	}
	return out
}

func (et *entityType) namesByRole(r role) []string {
	var out []string
	for _, f := range et.Fields {
		if f.Role == r {
			out = append(out, f.Name)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func listSuffix(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return " (" + strings.Join(names, ", ") + ")"
}

// CatalogueDoc describes the entity types and their fields, for the block
// description and docs.
func CatalogueDoc(types []string) string {
	var b strings.Builder
	for _, n := range types {
		et := catalogue[n]
		fmt.Fprintf(&b, "%s (%s): ", n, et.Doc)
		for i, f := range et.Fields {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(f.Name)
			if f.Role == roleIdentity {
				b.WriteString("*")
			}
		}
		b.WriteString(". ")
	}
	b.WriteString("Fields marked * identify the entity; the others are compared once it is found.")
	return b.String()
}
