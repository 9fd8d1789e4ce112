import Foundation
import Testing
import TestSupport

// The hang guards (`withTimeLimit`, `check`) come from the shared TestSupport target.

/// Worker counts the profiles of real runs are taken with.
let workerCounts = [1, 2, 3, 4, 8]

