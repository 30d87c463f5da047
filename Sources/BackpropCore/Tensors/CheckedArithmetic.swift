// Sizes derived from user input, computed without trapping on overflow.

/// The product of `factors`, `nil` when one is `nil` or it overflows.
package func checkedProduct(_ factors: [Int?]) -> Int? {
  var result = 1
  for factor in factors {
    guard let factor, case (let next, false) = result.multipliedReportingOverflow(by: factor) else { return nil }
    result = next
  }
  return result
}

/// The sum of `terms`, `nil` when one is `nil` or it overflows.
package func checkedSum(_ terms: [Int?]) -> Int? {
  var result = 0
  for term in terms {
    guard let term, case (let next, false) = result.addingReportingOverflow(term) else { return nil }
    result = next
  }
  return result
}
