// Package layers holds no code: its test enforces the direction of imports
// between the product's layers (see docs/ARCHITECTURE.md, "Layers"). It sits
// under internal/ because nothing may import it.
package layers
