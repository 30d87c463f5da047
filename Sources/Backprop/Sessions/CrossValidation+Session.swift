extension CrossValidation {
  /// The cross-validation that `settings` describe, and the session it was
  /// set up from: that session's data are unscaled, since each fold fits
  /// its own scaling on its training part only, and every fold trains a
  /// fresh model seeded by the settings' seed.
  ///
  /// - Parameter data: the data when already read (a search's trials share it).
  /// - Throws: ``SessionError`` naming the option that is wrong; `--init`
  ///   is refused (every fold starts from a fresh initialisation).
  public static func prepare(
    _ settings: SessionOptions, folds: Int, stratified: Bool, data: DatasetLoader.Loaded? = nil
  ) throws(SessionError) -> (validation: CrossValidation, session: TrainingSession) {
    if settings.initialWeights != nil {
      throw SessionError(option: "--init", message: "every fold trains from a fresh initialisation (seeded by --seed)")
    }
    var unscaled = settings
    // Given as none rather than left out, so that the session does not warn of unscaled features.
    unscaled.scaling = settings.scaling.map { _ in FeatureScaling.none }
    let session = try TrainingSession(unscaled, threads: 1, data: data)
    var validation = CrossValidation(
      spec: session.model.spec, loss: session.model.loss, options: session.options, folds: folds,
      stratified: stratified)
    validation.initializer = settings.initializer ?? .pytorch
    validation.scaling = settings.scaling ?? .none
    return (validation, session)
  }
}
