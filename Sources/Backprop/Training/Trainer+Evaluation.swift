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

  /// Worker `w`'s batches of the published evaluation set.
  func scoreEvaluationBatches(_ w: Int) {
    guard let job = evaluationJob, job.batches > 0 else { return }
    let worker = worker(w)
    let rows = min(Model.evaluationBatchRows, job.data.count)
    if (worker.evaluationWorkspace?.capacity ?? 0) < rows {
      worker.evaluationWorkspace = Workspace(spec: model.spec, capacity: rows)
    }
    let workspace = worker.evaluationWorkspace!
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
