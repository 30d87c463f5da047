/// Scoring the evaluation set after an epoch with the whole team.
///
/// The long-lived workers would otherwise wait at the barrier while the
/// leader scored the set alone: on Fashion-MNIST's 10,000 test samples that
/// was a tenth of the small model's run on two cores, and more on more cores.
/// The set is cut into batches of ``Model/evaluationBatchRows`` rows; worker
/// w scores batches w, w + W, … into the batch's own line of the job's
/// totals, and the leader adds the lines in batch order: the sums a single
/// thread adds batch by batch, so the result does not depend on W.
extension Trainer {
  /// Scores `data` with every worker: publishes it, meets the team at
  /// `meet`, scores its own batches, waits at `barrier` until every batch
  /// is scored, and adds the totals. Run by the leader between steps.
  func scoreWithTeam(_ data: Dataset, meet: () -> Void, barrier: StepBarrier) -> Evaluation {
    let job = EvaluationJob(data: data)
    evaluationJob = job
    meet()  // the job is visible to every worker
    scoreEvaluationBatches(0)
    barrier.wait()  // every batch is scored
    evaluationJob = nil
    return job.evaluation(of: model)
  }

  /// Scores `data` on the calling thread alone, batch after batch (the same
  /// sums, in the same order, as a team's), in worker 0's workspace: for one
  /// worker, and for the fork/join fallback between steps.
  func scoreAlone(_ data: Dataset) -> Evaluation {
    let (loss, correct) = model.scoreRows(
      0..<data.count, of: data, workspace: evaluationWorkspace(0, rows: data.count), predictions: nil)
    return model.evaluation(loss: loss, correct: correct, of: data)
  }

  /// Worker `w`'s batches of the published evaluation set.
  func scoreEvaluationBatches(_ w: Int) {
    guard let job = evaluationJob, job.batches > 0 else { return }
    let workspace = evaluationWorkspace(w, rows: job.data.count)
    var batch = w
    while batch < job.batches {
      let start = batch * Model.evaluationBatchRows
      let range = start..<min(start + Model.evaluationBatchRows, job.data.count)
      let (loss, correct) = model.scoreRows(range, of: job.data, workspace: workspace, predictions: nil)
      job.totals.base[2 * batch] = loss
      job.totals.base[2 * batch + 1] = Double(correct)
      batch += workerCount
    }
  }

  /// Worker `w`'s workspace for scoring a set of `rows` rows in batches of
  /// ``Model/evaluationBatchRows``: made on first use (by the worker, on its
  /// core) and kept for the run, since a fresh one each epoch (a dozen
  /// aligned buffers, their pages touched anew) had cost a tiny model more
  /// than its step.
  private func evaluationWorkspace(_ w: Int, rows: Int) -> Workspace<Float> {
    let worker = worker(w)
    let capacity = max(1, min(Model.scoringRows(spec: model.spec), rows))
    if let kept = worker.evaluationWorkspace, kept.capacity >= capacity { return kept }
    let workspace = Workspace<Float>(spec: model.spec, capacity: capacity)
    worker.evaluationWorkspace = workspace
    return workspace
  }
}

/// An evaluation set being scored by a team: each batch's summed loss and
/// correct count, written by the worker that scored it.
final class EvaluationJob: @unchecked Sendable {
  // @unchecked Sendable: each batch's line has one writer, and the leader
  // reads the lines only after the barrier that ends the scoring.
  let data: Dataset
  let batches: Int
  let totals: AlignedBuffer<Double>

  init(data: Dataset) {
    self.data = data
    batches = (data.count + Model.evaluationBatchRows - 1) / Model.evaluationBatchRows
    totals = AlignedBuffer(count: max(1, 2 * batches))
  }

  /// The mean loss and accuracy, from the batches' totals added in order.
  func evaluation(of model: Model) -> Evaluation {
    var loss = 0.0
    var correct = 0
    for batch in 0..<batches {
      loss += totals.base[2 * batch]
      correct += Int(totals.base[2 * batch + 1])
    }
    return model.evaluation(loss: loss, correct: correct, of: data)
  }
}
