using ModelForge.Model;
using ModelForge.Package.Processing;

namespace ModelForge.Package.Triton;

/// <summary>Where a model of an ensemble build goes: its version, and the versions already in its folder.</summary>
public sealed record TritonVersionSlot(int Version, IReadOnlyCollection<long> Present);

/// <summary>One step of an ensemble: the model it runs and which ensemble tensor each of its inputs reads and outputs writes.</summary>
public sealed record TritonEnsembleStep(TritonModelPlan Model, IReadOnlyList<(string ModelTensor, string EnsembleTensor)> InputMap,
    IReadOnlyList<(string ModelTensor, string EnsembleTensor)> OutputMap);

/// <summary>An ensemble and its step models, every config checked (each step's against the server's model rules, the ensemble's against its ensemble rules).</summary>
public sealed record TritonEnsemblePlan(TritonModelPlan Ensemble, IReadOnlyList<TritonEnsembleStep> Steps)
{
    /// <summary>Every model to write: the steps in order, then the ensemble.</summary>
    public IEnumerable<TritonModelPlan> Models => Steps.Select(s => s.Model).Append(Ensemble);
}

/// <summary>
/// Writes pre-processing, model and post-processing as a Triton ensemble: <c>NAME_preprocess</c> and
/// <c>NAME_postprocess</c> (the ONNX models of <see cref="ProcessingGraphs"/>, onnxruntime backend, CPU instances),
/// <c>NAME</c> (the model, as <see cref="TritonRepositoryWriter"/> writes it alone) and <c>NAME_ensemble</c>
/// (<c>platform: "ensemble"</c>, an empty version folder, <c>ensemble_scheduling</c> wiring the steps). All four
/// configs are planned and checked before the first folder is written; each folder is then staged and renamed into place.
/// </summary>
public static class TritonEnsembleWriter
{
    public const string PreprocessSuffix = "_preprocess";
    public const string PostprocessSuffix = "_postprocess";
    public const string EnsembleSuffix = "_ensemble";
    public const string FusedSuffix = "_fused";

    /// <param name="slots">
    /// Each model's version and the versions already beside it, by model name (<see cref="TritonRepositoryVersions.AddEnsemble"/>);
    /// default: every model at <see cref="PackageRequest.Version"/> in a new repository.
    /// </param>
    public static TritonEnsemblePlan Plan(PackageRequest request, TritonOptions options, ProcessingPlan processing, ProcessingFiles files,
        Func<string, TritonVersionSlot>? slots = null)
    {
        slots ??= NewRepository(request);
        var model = PlanIn(slots, request, options);
        var batchDim = request.Inputs[0].Dims[0];
        // The processing steps batch as the model does; their instances are cheap CPU work, one each.
        var stepBatching = new BatchingConfig(request.Batching.MaxBatchSize, [], 0, 1);
        var stepOptions = new TritonOptions { Warmup = options.Warmup, VersionPolicy = options.VersionPolicy, WarmupDimSizes = options.WarmupDimSizes };
        TritonModelPlan? StepPlan(string suffix, string? onnxPath, InputSpec input, TritonOptions stepOption) => onnxPath is null ? null
            : PlanIn(slots, new PackageRequest
            {
                ModelName = request.ModelName + suffix,
                Version = request.Version,
                OnnxPath = onnxPath,
                Inputs = [input],
                Batching = stepBatching,
                Device = DeviceKind.Cpu,
            }, stepOption);

        var pre = processing.Preprocess is null ? null : StepPlan(PreprocessSuffix, files.PreprocessPath, ImageInput(request, processing), stepOptions);
        var post = processing.Output is not { } output ? null
            : StepPlan(PostprocessSuffix, files.PostprocessPath, new InputSpec(output.Name, DataType.Float32, [batchDim, Dim.Of(output.Classes)]),
                stepOptions with { OutputLabels = Labels(processing) });

        static List<(string, string)> Same(IEnumerable<TritonTensor> tensors) => tensors.Select(t => (t.Name, t.Name)).ToList();
        var steps = new List<TritonEnsembleStep>();
        if (pre is not null) steps.Add(new TritonEnsembleStep(pre, Same(pre.Inputs), [(pre.Outputs[0].Name, processing.Input!.Name)]));
        steps.Add(new TritonEnsembleStep(model,
            pre is null ? Same(model.Inputs) : [(model.Inputs[0].Name, processing.Input!.Name)],
            post is null ? Same(model.Outputs) : [(model.Outputs[0].Name, processing.Output!.Name)]));
        if (post is not null) steps.Add(new TritonEnsembleStep(post, [(post.Inputs[0].Name, processing.Output!.Name)], Same(post.Outputs)));

        var ensembleName = request.ModelName + EnsembleSuffix;
        var ensembleSlot = slots(ensembleName);
        TritonRepositoryWriter.CheckVersionPolicy(options.VersionPolicy, ensembleSlot.Present.Append(ensembleSlot.Version));
        var inputs = (pre ?? model).Inputs;
        var outputs = (post ?? model).Outputs;
        var text = Emit(ensembleName, request.Batching.MaxBatchSize, options.VersionPolicy, inputs, outputs, steps);
        var ensemble = new TritonModelPlan(ensembleName, ensembleSlot.Version, text, inputs, outputs, [], null) { ModelFiles = post?.ModelFiles ?? [] };
        TritonEnsembleRules.Check(text, steps.ToDictionary(s => s.Model.ModelName, s => s.Model.ConfigText));
        return new TritonEnsemblePlan(ensemble, steps);
    }

    /// <summary>
    /// <c>NAME_fused</c>: the fused ONNX model (<see cref="ProcessingGraphs.Fuse"/>) as one model of its own, taking the
    /// ensemble's input and giving its outputs, with the model's batching and instances.
    /// </summary>
    /// <param name="slots">As in <see cref="Plan"/>.</param>
    public static TritonModelPlan PlanFused(PackageRequest request, TritonOptions options, ProcessingPlan processing, string fusedPath,
        Func<string, TritonVersionSlot>? slots = null)
    {
        var inputs = processing.Preprocess is null ? request.Inputs : [ImageInput(request, processing)];
        return PlanIn(slots ?? NewRepository(request), request with { ModelName = request.ModelName + FusedSuffix, OnnxPath = fusedPath, Inputs = inputs, OutputNames = null, EngineDirectory = null },
            // A warm-up sample holds the model's own inputs, not the request's image: the fused model warms up on zeros.
            options with { Backend = TritonBackend.OnnxRuntime, OutputLabels = Labels(processing), Settings = options.Settings with { WarmupSample = null } });
    }

    private static Func<string, TritonVersionSlot> NewRepository(PackageRequest request) => _ => new TritonVersionSlot(request.Version, []);

    /// <summary>A model's plan at the version its slot gives, its version policy checked against the versions already there.</summary>
    private static TritonModelPlan PlanIn(Func<string, TritonVersionSlot> slots, PackageRequest request, TritonOptions options)
    {
        var slot = slots(request.ModelName);
        return TritonRepositoryWriter.Plan(request with { Version = slot.Version }, options, slot.Present);
    }

    private static InputSpec ImageInput(PackageRequest request, ProcessingPlan processing) =>
        new(ProcessingPlan.ImageInputName, DataType.UInt8, [request.Inputs[0].Dims[0], .. processing.RequestDims.Select(Dim.Of)]);

    private static Dictionary<string, string> Labels(ProcessingPlan processing) => processing.Postprocess?.LabelFile is { } labelFile
        ? new Dictionary<string, string> { [ProcessingPlan.ScoresName] = labelFile } : new Dictionary<string, string>();

    /// <summary>
    /// Plans the ensemble's models and, when fused, <c>NAME_fused</c> (every config checked before the first folder is
    /// written), then writes them into a new repository at <paramref name="repositoryRoot"/>: the bundle's <c>triton/</c>
    /// or KServe's <c>storage/triton/</c>.
    /// </summary>
    public static IReadOnlyList<TritonModel> WriteWithFused(PackageRequest request, TritonOptions options, ProcessingPlan processing, ProcessingFiles files, string repositoryRoot)
    {
        var ensemble = Plan(request, options, processing, files);
        var fused = files.FusedPath is { } fusedPath ? PlanFused(request, options, processing, fusedPath) : null;
        return [.. Write(ensemble, repositoryRoot), .. fused is null ? [] : new[] { TritonRepositoryWriter.Write(fused, repositoryRoot) }];
    }

    /// <summary>Writes every model of the plan into <paramref name="repositoryRoot"/>, each folder staged and renamed into place.</summary>
    public static IReadOnlyList<TritonModel> Write(TritonEnsemblePlan plan, string repositoryRoot) =>
        plan.Models.Select(model => TritonRepositoryWriter.Write(model, repositoryRoot)).ToList();

    private static string Emit(string name, int maxBatchSize, TritonVersionPolicy policy, IReadOnlyList<TritonTensor> inputs, IReadOnlyList<TritonTensor> outputs,
        IReadOnlyList<TritonEnsembleStep> steps)
    {
        var pbtxt = new PbtxtWriter();
        pbtxt.Comment(TritonRepositoryWriter.ConfigHeader);
        pbtxt.Comment("An ensemble: the request goes through " + string.Join(" → ", steps.Select(s => s.Model.ModelName)) + " inside the server.");
        pbtxt.String("name", name);
        pbtxt.String("platform", "ensemble");
        pbtxt.Number("max_batch_size", maxBatchSize);
        pbtxt.Message("version_policy", p => TritonRepositoryWriter.WriteVersionPolicy(p, policy));
        pbtxt.Messages("input", inputs, TritonRepositoryWriter.WriteTensor);
        pbtxt.Messages("output", outputs, TritonRepositoryWriter.WriteTensor);
        pbtxt.Message("ensemble_scheduling", e => e.Messages("step", steps, (p, step) =>
        {
            p.String("model_name", step.Model.ModelName).Number("model_version", -1);
            foreach (var (model, tensor) in step.InputMap) p.StringMapEntry("input_map", model, tensor);
            foreach (var (model, tensor) in step.OutputMap) p.StringMapEntry("output_map", model, tensor);
        }));
        return pbtxt.ToString();
    }
}
