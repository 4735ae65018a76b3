package nifiel

// The catalogue lists every function of the language with its signature as
// the Apache NiFi Expression Language Guide gives it (subject type,
// arguments, return type) and the first sentence of its description.
// TestFunctionCatalog keeps it equal to the function table, and
// connectplus expr --help and docs/EXPRESSIONS.md print it.

// FuncArg is one argument of a function: its name and type.
type FuncArg struct {
	Name string
	Type string
}

// FuncDoc documents one function.
type FuncDoc struct {
	Name    string
	Group   string    // the guide's section
	Subject string    // the subject type; empty for a subjectless function
	Args    []FuncArg // in order; see Min and Max for which are optional
	Returns string
	Summary string
	Min     int // required arguments
	Max     int // maximum arguments; -1: the last one repeats
	// NiFi2 marks functions added in NiFi 2.x.
	NiFi2 bool
}

// Signature renders the function as the guide writes calls, with its
// types: "String:substring(startingIndex Number[, endingIndex Number]) String".
func (d FuncDoc) Signature() string {
	var b []byte
	if d.Subject != "" {
		b = append(b, d.Subject...)
		b = append(b, ':')
	}
	b = append(b, d.Name...)
	b = append(b, '(')
	for i, a := range d.Args {
		opt := i >= d.Min
		if opt {
			b = append(b, '[')
		}
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, a.Name...)
		b = append(b, ' ')
		b = append(b, a.Type...)
		if d.Max < 0 && i == len(d.Args)-1 {
			b = append(b, ", ..."...)
		}
		if opt {
			b = append(b, ']')
		}
	}
	b = append(b, ") "...)
	b = append(b, d.Returns...)
	return string(b)
}

// Functions returns every function of the language, in the order of the
// NiFi Expression Language Guide.
func Functions() []FuncDoc {
	out := make([]FuncDoc, len(catalog))
	for i, d := range catalog {
		def := functions[d.Name]
		d.Min, d.Max = def.min, def.max
		d.NiFi2 = nifi2Functions[d.Name]
		out[i] = d
	}
	return out
}

// nifi2Functions are the functions NiFi 2.x added.
var nifi2Functions = map[string]bool{"compactDelimitedList": true, "formatInstant": true, "isValidDate": true, "isValidInstant": true, "minusDuration": true, "minusInstantDuration": true, "plusDuration": true, "plusInstantDuration": true, "toInstant": true, "toMicros": true, "toNanos": true, "trimDelimitedList": true, "unique": true}

var catalog = []FuncDoc{
	{Name: "isNull", Group: "Boolean Logic", Subject: "Any", Args: []FuncArg{}, Returns: "Boolean", Summary: "The isNull function returns true if the subject is null, false otherwise."},
	{Name: "notNull", Group: "Boolean Logic", Subject: "Any", Args: []FuncArg{}, Returns: "Boolean", Summary: "The notNull function returns the opposite value of the isNull function."},
	{Name: "isEmpty", Group: "Boolean Logic", Subject: "String", Args: []FuncArg{}, Returns: "Boolean", Summary: "The isEmpty function returns true if the Subject is null, does not contain any characters or contains only white-space (new line, carriage return, space, tab), false otherwise."},
	{Name: "equals", Group: "Boolean Logic", Subject: "Any", Args: []FuncArg{{"value", "Any"}}, Returns: "Boolean", Summary: "The equals function is very widely used and determines if its subject is equal to another String value."},
	{Name: "equalsIgnoreCase", Group: "Boolean Logic", Subject: "String", Args: []FuncArg{{"value", "String"}}, Returns: "Boolean", Summary: "Like equals, but true also when the two values differ only by case."},
	{Name: "gt", Group: "Boolean Logic", Subject: "Number", Args: []FuncArg{{"value", "Number"}}, Returns: "Boolean", Summary: "The gt function is used for numeric comparison and returns true if the subject is Greater Than its argument."},
	{Name: "ge", Group: "Boolean Logic", Subject: "Number", Args: []FuncArg{{"value", "Number"}}, Returns: "Boolean", Summary: "The ge function is used for numeric comparison and returns true if the subject is Greater Than Or Equal To its argument."},
	{Name: "lt", Group: "Boolean Logic", Subject: "Number", Args: []FuncArg{{"value", "Number"}}, Returns: "Boolean", Summary: "The lt function is used for numeric comparison and returns true if the subject is Less Than its argument."},
	{Name: "le", Group: "Boolean Logic", Subject: "Number", Args: []FuncArg{{"value", "Number"}}, Returns: "Boolean", Summary: "The le function is used for numeric comparison and returns true if the subject is Less Than Or Equal To its argument."},
	{Name: "and", Group: "Boolean Logic", Subject: "Boolean", Args: []FuncArg{{"condition", "Boolean"}}, Returns: "Boolean", Summary: "The and function takes as a single argument a Boolean value and returns true if both the Subject and the argument are true."},
	{Name: "or", Group: "Boolean Logic", Subject: "Boolean", Args: []FuncArg{{"condition", "Boolean"}}, Returns: "Boolean", Summary: "The or function takes as a single argument a Boolean value and returns true if either the Subject or the argument is true."},
	{Name: "not", Group: "Boolean Logic", Subject: "Boolean", Args: []FuncArg{}, Returns: "Boolean", Summary: "The not function returns the negation of the Boolean value of the subject."},
	{Name: "ifElse", Group: "Boolean Logic", Subject: "Boolean", Args: []FuncArg{{"evaluateIfTrue", "String"}, {"evaluateIfFalse", "String"}}, Returns: "String", Summary: "Evaluates the first argument if the Subject evaluates to true, or the second argument if the Subject evaluates to false."},
	{Name: "isJson", Group: "Boolean Logic", Subject: "String", Args: []FuncArg{}, Returns: "Boolean", Summary: "The isJson function returns true if the subject is a JSON array or a JSON object, false otherwise."},
	{Name: "isValidInstant", Group: "Boolean Logic", Subject: "String", Args: []FuncArg{}, Returns: "Boolean", Summary: "The isValidInstant function returns true when the Subject can be parsed as a valid ISO-8601 instant or RFC-1123 date-time, and false otherwise."},
	{Name: "isValidDate", Group: "Boolean Logic", Subject: "String", Args: []FuncArg{{"format", "String"}, {"timeZone", "String"}}, Returns: "Boolean", Summary: "The isValidDate function returns true when the Subject can be parsed as a valid date using the specified format and optional timezone, and false otherwise."},
	{Name: "toUpper", Group: "String Manipulation", Subject: "String", Args: []FuncArg{}, Returns: "String", Summary: "This function converts the Subject into an all upper-case String."},
	{Name: "toLower", Group: "String Manipulation", Subject: "String", Args: []FuncArg{}, Returns: "String", Summary: "This function converts the Subject into an all lower-case String."},
	{Name: "trim", Group: "String Manipulation", Subject: "String", Args: []FuncArg{}, Returns: "String", Summary: "The trim function will remove any leading or trailing white space from its subject."},
	{Name: "substring", Group: "String Manipulation", Subject: "String", Args: []FuncArg{{"startingIndex", "Number"}, {"endingIndex", "Number"}}, Returns: "String", Summary: "Returns a portion of the Subject, given a starting index and an optional ending index."},
	{Name: "substringBefore", Group: "String Manipulation", Subject: "String", Args: []FuncArg{{"value", "String"}}, Returns: "String", Summary: "Returns a portion of the Subject, starting with the first character of the Subject and ending with the character immediately before the first occurrence of the argument."},
	{Name: "substringBeforeLast", Group: "String Manipulation", Subject: "String", Args: []FuncArg{{"value", "String"}}, Returns: "String", Summary: "Returns a portion of the Subject, starting with the first character of the Subject and ending with the character immediately before the last occurrence of the argument."},
	{Name: "substringAfter", Group: "String Manipulation", Subject: "String", Args: []FuncArg{{"value", "String"}}, Returns: "String", Summary: "Returns a portion of the Subject, starting with the character immediately after the first occurrence of the argument and extending to the end of the Subject."},
	{Name: "substringAfterLast", Group: "String Manipulation", Subject: "String", Args: []FuncArg{{"value", "String"}}, Returns: "String", Summary: "Returns a portion of the Subject, starting with the character immediately after the last occurrence of the argument and extending to the end of the Subject."},
	{Name: "getDelimitedField", Group: "String Manipulation", Subject: "String", Args: []FuncArg{{"index", "Number"}, {"delimiter", "String"}, {"quoteChar", "String"}, {"escapeChar", "String"}, {"stripChars", "Boolean"}}, Returns: "String", Summary: "Parses the Subject as a delimited line of text and returns just a single field from that delimited text."},
	{Name: "compactDelimitedList", Group: "String Manipulation", Subject: "String", Args: []FuncArg{{"delimiter", "String"}}, Returns: "String", Summary: "Splits the Subject using the specified delimiter, removes all empty tokens, and rejoins the remaining tokens using the same delimiter."},
	{Name: "trimDelimitedList", Group: "String Manipulation", Subject: "String", Args: []FuncArg{{"delimiter", "String"}}, Returns: "String", Summary: "Splits the Subject using the specified delimiter, removes leading and trailing empty tokens, and rejoins the remaining tokens using the same delimiter."},
	{Name: "unique", Group: "String Manipulation", Subject: "String", Args: []FuncArg{{"delimiter", "String"}}, Returns: "String", Summary: "Returns the unique values from a delimited string while preserving the order of first occurrence."},
	{Name: "append", Group: "String Manipulation", Subject: "String", Args: []FuncArg{{"value", "String"}}, Returns: "String", Summary: "The append function returns the result of appending the argument to the value of the Subject."},
	{Name: "prepend", Group: "String Manipulation", Subject: "String", Args: []FuncArg{{"value", "String"}}, Returns: "String", Summary: "The prepend function returns the result of prepending the argument to the value of the Subject."},
	{Name: "replace", Group: "String Manipulation", Subject: "String", Args: []FuncArg{{"searchString", "String"}, {"replacement", "String"}}, Returns: "String", Summary: "Replaces *all* occurrences of one literal String within the Subject with another String."},
	{Name: "replaceFirst", Group: "String Manipulation", Subject: "String", Args: []FuncArg{{"regex", "String"}, {"replacement", "String"}}, Returns: "String", Summary: "Replaces *the first* occurrence of one literal String or regular expression within the Subject with another String."},
	{Name: "replaceAll", Group: "String Manipulation", Subject: "String", Args: []FuncArg{{"regex", "String"}, {"replacement", "String"}}, Returns: "String", Summary: "The replaceAll function takes two String arguments: a literal String or Regular Expression (NiFi uses the Java Pattern syntax), and a replacement string."},
	{Name: "padLeft", Group: "String Manipulation", Subject: "String", Args: []FuncArg{{"desiredLength", "Number"}, {"paddingString", "String"}}, Returns: "String", Summary: "The padLeft function prepends the given padding string (or '', if nothing is provided) to the argument String until the passed desired length is reached."},
	{Name: "padRight", Group: "String Manipulation", Subject: "String", Args: []FuncArg{{"desiredLength", "Number"}, {"paddingString", "String"}}, Returns: "String", Summary: "The padRight function appends the given padding string (or '', if nothing is provided) to the argument String until the passed desired length is reached."},
	{Name: "replaceNull", Group: "String Manipulation", Subject: "Any", Args: []FuncArg{{"replacement", "Any"}}, Returns: "type of the Subject, else of the argument", Summary: "The replaceNull function returns the argument if the Subject is null."},
	{Name: "replaceEmpty", Group: "String Manipulation", Subject: "String", Args: []FuncArg{{"replacement", "String"}}, Returns: "String", Summary: "The replaceEmpty function returns the argument if the Subject is null or if the Subject consists only of white space (new line, carriage return, tab, space)."},
	{Name: "length", Group: "String Manipulation", Subject: "String", Args: []FuncArg{}, Returns: "Number", Summary: "Returns the length of the Subject."},
	{Name: "evaluateELString", Group: "String Manipulation", Subject: "String", Args: []FuncArg{}, Returns: "String", Summary: "This function evaluates the Expression Language inside the variable value."},
	{Name: "repeat", Group: "String Manipulation", Subject: "String", Args: []FuncArg{{"minRepeats", "Number"}, {"maxRepeats", "Number"}}, Returns: "String", Summary: "Returns a string that is the Subject repeated a random number of times between min repeats and max repeats."},
	{Name: "replaceByPattern", Group: "String Manipulation", Subject: "String", Args: []FuncArg{{"mappingRule", "String"}}, Returns: "String", Summary: "Returns a string based on the provided mapping rule in order to replace the subject by another string."},
	{Name: "escapeJson", Group: "Encode/Decode", Subject: "String", Args: []FuncArg{}, Returns: "String", Summary: "This function prepares the Subject to be inserted into JSON document by escaping the characters in the String using Json String rules."},
	{Name: "escapeXml", Group: "Encode/Decode", Subject: "String", Args: []FuncArg{}, Returns: "String", Summary: "This function prepares the Subject to be inserted into XML document by escaping the characters in a String using XML entities."},
	{Name: "escapeCsv", Group: "Encode/Decode", Subject: "String", Args: []FuncArg{}, Returns: "String", Summary: "This function prepares the Subject to be inserted into CSV document by escaping the characters in a String using the rules in RFC 4180."},
	{Name: "escapeHtml3", Group: "Encode/Decode", Subject: "String", Args: []FuncArg{}, Returns: "String", Summary: "This function prepares the Subject to be inserted into HTML document by escaping the characters in a String using the HTML entities."},
	{Name: "escapeHtml4", Group: "Encode/Decode", Subject: "String", Args: []FuncArg{}, Returns: "String", Summary: "This function prepares the Subject to be inserted into HTML document by escaping the characters in a String using the HTML entities."},
	{Name: "unescapeJson", Group: "Encode/Decode", Subject: "String", Args: []FuncArg{}, Returns: "String", Summary: "This function unescapes any Json literals found in the String."},
	{Name: "unescapeXml", Group: "Encode/Decode", Subject: "String", Args: []FuncArg{}, Returns: "String", Summary: "This function unescapes a string containing XML entity escapes to a string containing the actual Unicode characters corresponding to the escapes."},
	{Name: "unescapeCsv", Group: "Encode/Decode", Subject: "String", Args: []FuncArg{}, Returns: "String", Summary: "This function unescapes a String from a CSV document according to the rules of RFC 4180."},
	{Name: "unescapeHtml3", Group: "Encode/Decode", Subject: "String", Args: []FuncArg{}, Returns: "String", Summary: "This function unescapes a string containing HTML 3 entity to a string containing the actual Unicode characters corresponding to the escapes."},
	{Name: "unescapeHtml4", Group: "Encode/Decode", Subject: "String", Args: []FuncArg{}, Returns: "String", Summary: "This function unescapes a string containing HTML 4 entity to a string containing the actual Unicode characters corresponding to the escapes."},
	{Name: "urlEncode", Group: "Encode/Decode", Subject: "String", Args: []FuncArg{}, Returns: "String", Summary: "Returns a URL-friendly version of the Subject."},
	{Name: "urlDecode", Group: "Encode/Decode", Subject: "String", Args: []FuncArg{}, Returns: "String", Summary: "Converts a URL-friendly version of the Subject into a human-readable form."},
	{Name: "base64Encode", Group: "Encode/Decode", Subject: "String", Args: []FuncArg{}, Returns: "String", Summary: "Returns a Base64 encoded string."},
	{Name: "base64Decode", Group: "Encode/Decode", Subject: "String", Args: []FuncArg{}, Returns: "String", Summary: "Reverses the Base64 encoding on given string."},
	{Name: "UUID3", Group: "Encode/Decode", Subject: "String", Args: []FuncArg{{"namespace", "String"}}, Returns: "String", Summary: "Returns a type 3 (MD5 hashed) namespace name-based UUID."},
	{Name: "UUID5", Group: "Encode/Decode", Subject: "String", Args: []FuncArg{{"namespace", "String"}}, Returns: "String", Summary: "Returns a type 5 (SHA-1 hashed) namespace name-based UUID."},
	{Name: "hash", Group: "Encode/Decode", Subject: "String", Args: []FuncArg{{"algorithm", "String"}}, Returns: "String", Summary: "Returns a hex encoded string using the hash algorithm provided."},
	{Name: "startsWith", Group: "Searching", Subject: "String", Args: []FuncArg{{"value", "String"}}, Returns: "Boolean", Summary: "Returns true if the Subject starts with the String provided as the argument, false otherwise."},
	{Name: "endsWith", Group: "Searching", Subject: "String", Args: []FuncArg{{"value", "String"}}, Returns: "Boolean", Summary: "Returns true if the Subject ends with the String provided as the argument, false otherwise."},
	{Name: "contains", Group: "Searching", Subject: "String", Args: []FuncArg{{"value", "String"}}, Returns: "Boolean", Summary: "Returns true if the Subject contains the value of the argument anywhere in the value."},
	{Name: "in", Group: "Searching", Subject: "String", Args: []FuncArg{{"value", "String"}}, Returns: "Boolean", Summary: "Returns true if the Subject is matching one of the provided arguments."},
	{Name: "find", Group: "Searching", Subject: "String", Args: []FuncArg{{"regex", "String"}}, Returns: "Boolean", Summary: "Returns true if the Subject contains any sequence of characters that matches the Regular Expression provided by the argument."},
	{Name: "matches", Group: "Searching", Subject: "String", Args: []FuncArg{{"regex", "String"}}, Returns: "Boolean", Summary: "Returns true if the Subject exactly matches the Regular Expression provided by the argument."},
	{Name: "indexOf", Group: "Searching", Subject: "String", Args: []FuncArg{{"value", "String"}}, Returns: "Number", Summary: "Returns the index of the first character in the Subject that matches the String value provided as an argument."},
	{Name: "lastIndexOf", Group: "Searching", Subject: "String", Args: []FuncArg{{"value", "String"}}, Returns: "Number", Summary: "Returns the index of the first character in the Subject that matches the String value provided as an argument."},
	{Name: "jsonPath", Group: "Searching", Subject: "String", Args: []FuncArg{{"jsonPath", "String"}}, Returns: "String", Summary: "The jsonPath function generates a string by evaluating the Subject as JSON and applying a JSON path expression."},
	{Name: "jsonPathDelete", Group: "Searching", Subject: "String", Args: []FuncArg{{"jsonPath", "String"}}, Returns: "String", Summary: "The jsonPathDelete function deletes the specified JsonPath from a Subject JSON and returns string form of the updated JSON."},
	{Name: "jsonPathAdd", Group: "Searching", Subject: "String", Args: []FuncArg{{"jsonPath", "String"}, {"value", "Any"}}, Returns: "String", Summary: "The jsonPathAdd function adds a scalar value to an array at the specified JsonPath on a Subject JSON and returns string form of the updated JSON."},
	{Name: "jsonPathSet", Group: "Searching", Subject: "String", Args: []FuncArg{{"jsonPath", "String"}, {"value", "Any"}}, Returns: "String", Summary: "The jsonPathSet function sets the value at the specified JsonPath on a Subject JSON and returns string form of the updated JSON."},
	{Name: "jsonPathPut", Group: "Searching", Subject: "String", Args: []FuncArg{{"jsonPath", "String"}, {"key", "String"}, {"value", "Any"}}, Returns: "String", Summary: "The jsonPathPut function puts the key and scalar value at the specified JsonPath on a Subject JSON and returns string form of the updated JSON."},
	{Name: "plus", Group: "Mathematical Operations", Subject: "Number or Decimal", Args: []FuncArg{{"operand", "Number or Decimal"}}, Returns: "Number or Decimal", Summary: "Adds a numeric value to the Subject."},
	{Name: "minus", Group: "Mathematical Operations", Subject: "Number or Decimal", Args: []FuncArg{{"operand", "Number or Decimal"}}, Returns: "Number or Decimal", Summary: "Subtracts a numeric value from the Subject."},
	{Name: "multiply", Group: "Mathematical Operations", Subject: "Number or Decimal", Args: []FuncArg{{"operand", "Number or Decimal"}}, Returns: "Number or Decimal", Summary: "Multiplies a numeric value by the Subject and returns the product."},
	{Name: "divide", Group: "Mathematical Operations", Subject: "Number or Decimal", Args: []FuncArg{{"operand", "Number or Decimal"}}, Returns: "Number or Decimal", Summary: "Divides the Subject by a numeric value and returns the result."},
	{Name: "mod", Group: "Mathematical Operations", Subject: "Number or Decimal", Args: []FuncArg{{"operand", "Number or Decimal"}}, Returns: "Number or Decimal", Summary: "Performs a modular division of the Subject by the argument."},
	{Name: "toRadix", Group: "Mathematical Operations", Subject: "Number", Args: []FuncArg{{"desiredBase", "Number"}, {"padding", "Number"}}, Returns: "String", Summary: "Converts the Subject from a Base 10 number to a different Radix (or number base)."},
	{Name: "fromRadix", Group: "Mathematical Operations", Subject: "String", Args: []FuncArg{{"subjectBase", "Number"}}, Returns: "Number", Summary: "Converts the Subject from a specified Radix (or number base) to a base ten whole number."},
	{Name: "random", Group: "Mathematical Operations", Subject: "", Args: []FuncArg{}, Returns: "Number", Summary: "Returns a random whole number ( 0 to 2^63 - 1) using an insecure random number generator."},
	{Name: "math", Group: "Mathematical Operations", Subject: "Number or Decimal, or none", Args: []FuncArg{{"method", "String"}, {"argument", "Number or Decimal"}}, Returns: "Number or Decimal", Summary: "Runs a java.lang.Math method on the Subject (or with no subject), with an optional second argument."},
	{Name: "format", Group: "Date Manipulation", Subject: "Number", Args: []FuncArg{{"format", "String"}, {"timeZone", "String"}}, Returns: "String", Summary: "Formats a number as a date/time according to the format specified by the argument."},
	{Name: "formatInstant", Group: "Date Manipulation", Subject: "Instant or Number or String", Args: []FuncArg{{"format", "String"}, {"timeZone", "String"}}, Returns: "String", Summary: "Formats an Instant, number or string according to the format specified by the argument."},
	{Name: "toDate", Group: "Date Manipulation", Subject: "String", Args: []FuncArg{{"format", "String"}, {"timeZone", "String"}}, Returns: "Date", Summary: "Converts a String into a Date data type, based on the format specified by the argument."},
	{Name: "toInstant", Group: "Date Manipulation", Subject: "String or Number", Args: []FuncArg{{"format", "String"}, {"timeZone", "String"}}, Returns: "Instant", Summary: "Converts a String or Number into an Instant data type, based on the format specified by the argument."},
	{Name: "toMicros", Group: "Date Manipulation", Subject: "Instant", Args: []FuncArg{}, Returns: "Number", Summary: "Converts an Instant Subject into a Number with microsecond precision."},
	{Name: "toNanos", Group: "Date Manipulation", Subject: "Instant", Args: []FuncArg{}, Returns: "Number", Summary: "Converts an Instant Subject into a Number with nanosecond precision."},
	{Name: "plusDuration", Group: "Date Manipulation", Subject: "Date", Args: []FuncArg{{"amount", "String"}, {"timeZone", "String"}}, Returns: "Date", Summary: "Adds a specified amount of time to a Date value using a human-readable expression such as \"1 week\" or \"3 months\"."},
	{Name: "minusDuration", Group: "Date Manipulation", Subject: "Date", Args: []FuncArg{{"amount", "String"}, {"timeZone", "String"}}, Returns: "Date", Summary: "Subtracts a specified amount of time from a Date value using a human-readable expression such as \"1 week\" or \"3 months\"."},
	{Name: "plusInstantDuration", Group: "Date Manipulation", Subject: "Instant", Args: []FuncArg{{"amount", "String"}}, Returns: "Instant", Summary: "Adds a specified amount of time to an Instant value using a human-readable expression such as \"1 week\" or \"3 months\"."},
	{Name: "minusInstantDuration", Group: "Date Manipulation", Subject: "Instant", Args: []FuncArg{{"amount", "String"}}, Returns: "Instant", Summary: "Subtracts a specified amount of time from an Instant value using a human-readable expression such as \"1 week\" or \"3 months\"."},
	{Name: "now", Group: "Date Manipulation", Subject: "", Args: []FuncArg{}, Returns: "Date", Summary: "Returns the current date and time as a Date data type object."},
	{Name: "toString", Group: "Type Coercion", Subject: "Any", Args: []FuncArg{}, Returns: "String", Summary: "Coerces the Subject into a String."},
	{Name: "toNumber", Group: "Type Coercion", Subject: "String, Decimal, Date or Instant", Args: []FuncArg{}, Returns: "Number", Summary: "Coerces the Subject into a Number."},
	{Name: "toDecimal", Group: "Type Coercion", Subject: "String, Number, Date or Instant", Args: []FuncArg{}, Returns: "Decimal", Summary: "Coerces the Subject into a Decimal."},
	{Name: "ip", Group: "Subjectless Functions", Subject: "", Args: []FuncArg{}, Returns: "String", Summary: "Returns the IP address of the machine."},
	{Name: "hostname", Group: "Subjectless Functions", Subject: "", Args: []FuncArg{{"fullyQualified", "Boolean"}}, Returns: "String", Summary: "Returns the Hostname of the machine."},
	{Name: "UUID", Group: "Subjectless Functions", Subject: "", Args: []FuncArg{}, Returns: "String", Summary: "Returns a randomly generated type 4 UUID."},
	{Name: "nextInt", Group: "Subjectless Functions", Subject: "", Args: []FuncArg{}, Returns: "Number", Summary: "Returns a one-up value (starting at 0) and increasing over the lifetime of the running instance of NiFi."},
	{Name: "literal", Group: "Subjectless Functions", Subject: "", Args: []FuncArg{{"value", "Any"}}, Returns: "String", Summary: "Returns its argument as a literal String value."},
	{Name: "getStateValue", Group: "Subjectless Functions", Subject: "", Args: []FuncArg{{"key", "String"}}, Returns: "String", Summary: "Access a processor's state values by passing in the String key and getting the value back as a String."},
	{Name: "thread", Group: "Subjectless Functions", Subject: "", Args: []FuncArg{}, Returns: "String", Summary: "Returns the name of the thread used by the processor when evaluating the Expression."},
	{Name: "getUri", Group: "Subjectless Functions", Subject: "", Args: []FuncArg{{"scheme", "String"}, {"userInfo", "String"}, {"host", "String"}, {"port", "Number"}, {"path", "String"}, {"query", "String"}, {"fragment", "String"}}, Returns: "String", Summary: "Returns a URI compliant with RFC 2396."},
	{Name: "anyAttribute", Group: "Evaluating Multiple Attributes", Subject: "", Args: []FuncArg{{"attributeName", "String"}}, Returns: "Boolean", Summary: "Checks to see if any of the given attributes, match the given condition."},
	{Name: "allAttributes", Group: "Evaluating Multiple Attributes", Subject: "", Args: []FuncArg{{"attributeName", "String"}}, Returns: "Boolean", Summary: "Checks to see if all of the given attributes match the given condition."},
	{Name: "anyMatchingAttribute", Group: "Evaluating Multiple Attributes", Subject: "", Args: []FuncArg{{"regex", "String"}}, Returns: "Boolean", Summary: "Checks to see if any of the given attributes, match the given condition."},
	{Name: "allMatchingAttributes", Group: "Evaluating Multiple Attributes", Subject: "", Args: []FuncArg{{"regex", "String"}}, Returns: "Boolean", Summary: "Checks to see if any of the given attributes, match the given condition."},
	{Name: "anyDelineatedValue", Group: "Evaluating Multiple Attributes", Subject: "", Args: []FuncArg{{"delineatedValue", "String"}, {"delimiter", "String"}}, Returns: "Boolean", Summary: "Splits a String apart according to a delimiter that is provided, and then evaluates each of the values against the rest of the Expression."},
	{Name: "allDelineatedValues", Group: "Evaluating Multiple Attributes", Subject: "", Args: []FuncArg{{"delineatedValue", "String"}, {"delimiter", "String"}}, Returns: "Boolean", Summary: "Splits a String apart according to a delimiter that is provided, and then evaluates each of the values against the rest of the Expression."},
	{Name: "join", Group: "Evaluating Multiple Attributes", Subject: "String", Args: []FuncArg{{"delimiter", "String"}}, Returns: "String", Summary: "Aggregate function that concatenates multiple values with the specified delimiter."},
	{Name: "count", Group: "Evaluating Multiple Attributes", Subject: "Any", Args: []FuncArg{}, Returns: "Number", Summary: "Aggregate function that counts the number of non-null, non-false values returned by the allAttributes, allMatchingAttributes, and allDelineatedValues."},
}
