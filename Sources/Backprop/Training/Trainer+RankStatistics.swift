/// Batch statistics across ranks: layers that normalise by the batch
/// (``BatchNorm``) see the whole batch's rows, not one rank's part, so a
/// run gives the same results whatever the number of ranks.
///
/// Each layer keeps per-row statistics (a row's mean and squared deviations
/// forward; its gradient sums backward) and combines every row's in row
/// order. Between the segments of a step, where a rank's workers meet
/// anyway, worker 0 copies its rows' statistics into the workspace's
/// whole-batch buffer and one `MPI_Allgatherv` brings in the other ranks'.
extension Trainer {
  /// Makes the workspace keep whole-batch statistics when this trainer is
  /// one of several ranks and its model has layers that use batch statistics.
  func spanRanksIfNeeded() {
    guard processes.isDistributed, !network.batchLayers.isEmpty else { return }
    workspace.spanProcesses(wholeBatch: workspace.capacity, layers: network.batchLayers)
  }

  /// Whether the ranks exchange batch statistics between segments.
  var exchangesStatistics: Bool { !workspace.wholeBatchScratch.isEmpty }

  /// The layer whose per-row statistics segment `segment` of a step ends
  /// with: forward segments end with the next such layer's, backward ones
  /// (from the top) with the gradient sums of the next one down.
  private func statisticsLayer(endingSegment segment: Int) -> Int {
    let stages = network.stageCount
    return network.batchLayers[segment < stages - 1 ? segment : 2 * stages - 3 - segment]
  }

  /// Worker 0, between segments `segment` and `segment + 1` of the step in
  /// `bank`, while this rank's other workers wait: every rank's rows'
  /// statistics of the layer the segment ended with, into the whole-batch
  /// buffer. A rank without rows of the batch takes part all the same.
  func exchangeStatistics(after segment: Int, bank: Int) {
    guard exchangesStatistics else { return }
    let started = clockIfProfiling()
    if segment == 0 { statisticsSeconds = 0 }
    let command = commands[bank]
    workspace.wholeBatchRows = command.batchRows
    let layer = statisticsLayer(endingSegment: segment)
    let width = workspace.scratchWidth(ofLayer: layer)
    guard let whole = workspace.wholeBatchScratch[layer]?.base else { return }
    (whole + command.firstRow * width).update(
      from: workspace.scratch(ofLayer: layer), count: command.indices.count * width)
    processes.allGather(whole) { rank in
      let rows = part(ofRank: rank, rows: command.batchRows).rows
      return (rows.lowerBound * width)..<(rows.upperBound * width)
    }
    statisticsSeconds += clockIfProfiling() - started
  }

  /// Worker 0 of a rank without rows of the step in `bank`: the exchanges
  /// the other ranks' segments wait for.
  func exchangeStatisticsWithoutRows(bank: Int) {
    guard exchangesStatistics else { return }
    for segment in 0..<(segmentCount - 1) { exchangeStatistics(after: segment, bank: bank) }
  }

  /// Worker 0, with the ranks' sums: when some rank had no rows of the
  /// batch (and so did not update the running statistics in its forward
  /// pass), every rank takes rank 0's, which the other ranks with rows
  /// computed identically.
  func shareRunningStatistics(bank: Int) {
    guard exchangesStatistics, part(ofRank: processes.size - 1, rows: commands[bank].batchRows).rows.isEmpty
    else { return }
    for range in network.layout.frozenRanges {
      processes.broadcast(
        UnsafeMutableRawBufferPointer(
          start: model.parameters.base + range.lowerBound, count: range.count * MemoryLayout<Float>.stride))
    }
  }
}
