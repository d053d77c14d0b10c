using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using ModelForge.Core.Diagnostics;
using ModelForge.Model.Tensors;
using ModelForge.Validate.Compare;
using ModelForge.Validate.Runtime;
using Onnx;

namespace ModelForge.Optimize.Int8;

/// <summary>How much the sensitivity pass may spend: a null limit is no limit.</summary>
/// <param name="MaxFloatNodes">The most nodes it keeps float.</param>
/// <param name="MaxTime">The longest it runs; checked before each trial, so one trial may overrun it.</param>
public sealed record SensitivityBudget(int? MaxFloatNodes = null, TimeSpan? MaxTime = null);

/// <summary>
/// What <see cref="SensitivityPass.Run"/> works on, all plain data.
/// </summary>
/// <param name="Model">The fp32 model (not changed).</param>
/// <param name="ModelPath">Names the model in messages.</param>
/// <param name="Calibration"><see cref="StaticInt8Quantizer.Calibrate"/> of <paramref name="Model"/>: every trial reuses its ranges.</param>
/// <param name="Inputs">Evaluation samples: per sample one tensor per model input, in the graph's input order.</param>
/// <param name="ReferenceOutputs">Per sample the outputs to match (native libtorch fp32, or the fp32 ONNX model's), in the graph's output order.</param>
/// <param name="Thresholds">What every output must reach.</param>
public sealed record SensitivityRequest(ModelProto Model, string ModelPath, Int8Calibration Calibration,
    IReadOnlyList<IReadOnlyList<HostTensor>> Inputs, IReadOnlyList<IReadOnlyList<HostTensor>> ReferenceOutputs, QuantizationThresholds Thresholds)
{
    public SensitivityBudget Budget { get; init; } = new();
}

/// <summary>How close one int8 variant's outputs are to the reference.</summary>
/// <param name="Outputs">The metrics of each output, in the graph's output order.</param>
/// <param name="Failures">The thresholds missed, one sentence each (prefixed with the output's name when there are several); empty: it passes.</param>
public sealed record SensitivityAccuracy(IReadOnlyList<QuantizationMetrics> Outputs, IReadOnlyList<string> Failures)
{
    public bool Passes => Failures.Count == 0;

    /// <summary>The lowest SQNR over the outputs (NaN counts as −∞): the measure the pass ranks and compares by.</summary>
    public double Score => Outputs.Min(m => double.IsNaN(m.SqnrDb) ? double.NegativeInfinity : m.SqnrDb);

    /// <summary>The output with the lowest SQNR.</summary>
    public QuantizationMetrics Worst => Outputs.MinBy(m => double.IsNaN(m.SqnrDb) ? double.NegativeInfinity : m.SqnrDb)!;
}

/// <summary>One trial of the ranking: the full int8 model with only <paramref name="Node"/> kept float.</summary>
public sealed record NodeSensitivity(string Node, string OpType, SensitivityAccuracy Accuracy);

/// <summary>A node the pass kept float, and why: the accuracy before it was added to the float set and after.</summary>
public sealed record KeptFloatNode(string Node, string OpType, SensitivityAccuracy Before, SensitivityAccuracy After)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Node} ({OpType}): SQNR {Before.Score:F2} → {After.Score:F2} dB, cosine {Before.Worst.Cosine:F6} → {After.Worst.Cosine:F6}");
}

/// <summary>What the sensitivity pass did.</summary>
/// <param name="Model">The int8 model with <paramref name="KeptFloat"/> in float: the one that passed, or the best reached.</param>
/// <param name="Int8">The account of <paramref name="Model"/>'s quantization.</param>
/// <param name="Passed">Whether <paramref name="Model"/> reaches every threshold.</param>
/// <param name="FullInt8">The accuracy of the full int8 model (no node float).</param>
/// <param name="Final">The accuracy of <paramref name="Model"/>.</param>
/// <param name="KeptFloat">The nodes kept float, in the order they were added.</param>
/// <param name="Ranking">Every node measured alone, the most helpful first (empty when the full int8 model passed).</param>
/// <param name="Trials">How many int8 variants were built and run.</param>
/// <param name="Failure">MF8040 when the budget ran out before the thresholds passed; else null.</param>
public sealed record SensitivityResult(ModelProto Model, Int8Result Int8, bool Passed, SensitivityAccuracy FullInt8, SensitivityAccuracy Final,
    IReadOnlyList<KeptFloatNode> KeptFloat, IReadOnlyList<NodeSensitivity> Ranking, int Trials, TimeSpan Elapsed, Diagnostic? Failure);

/// <summary>
/// Recovers int8 accuracy by keeping the most sensitive nodes float. When the full int8 model misses the thresholds,
/// every quantized node (pass-through ops aside) is measured alone: the full int8 model with only that node float,
/// scored by the lowest output SQNR (the ranking). Then, most helpful first, nodes join the float set when that raises
/// the score, until the thresholds pass or the budget is spent; nodes whose trial gained nothing are not tried. When
/// the helpful nodes are spent and the model still fails, the remaining nodes are measured again on top of the float
/// set (an offender masked by a worse one shows its gain only then), and the greedy step repeats.
/// <para>
/// Cost: 1 + Q trials for Q quantized nodes, plus one per node tried after the first of a round, plus Q − F more for
/// each further round (F nodes float by then); each trial copies the model,
/// rewrites it with the one calibration, writes it to a temporary file, opens an ONNX Runtime CPU session (full graph
/// optimisation, so the fused integer kernels are what is measured) and runs every evaluation sample. Session creation
/// and the evaluation runs dominate: give few samples (the calibration set's batches, or a handful of real inputs) and a
/// <see cref="SensitivityBudget.MaxTime"/> for big models.
/// </para>
/// </summary>
public static class SensitivityPass
{
    public static SensitivityResult Run(SensitivityRequest request)
    {
        Check(request);
        var clock = Stopwatch.StartNew();
        var budget = request.Budget;
        bool OutOfTime() => budget.MaxTime is { } limit && clock.Elapsed >= limit;
        var folder = Directory.CreateTempSubdirectory("modelforge-sensitivity-");
        try
        {
            var trials = 0;
            var floatNodes = new HashSet<string>(StringComparer.Ordinal);
            Trial Measure(string? extra) =>
                Trial.Run(request, extra is null ? floatNodes : new HashSet<string>(floatNodes.Append(extra), StringComparer.Ordinal), folder.FullName, trials++);

            var full = Measure(null);
            if (full.Accuracy.Passes)
                return new SensitivityResult(full.Model, full.Int8, true, full.Accuracy, full.Accuracy, [], [], trials, clock.Elapsed, null);

            var opTypes = request.Model.Graph.Node.Where(n => n.Name.Length > 0).DistinctBy(n => n.Name).ToDictionary(n => n.Name, n => n.OpType, StringComparer.Ordinal);
            var candidates = StaticInt8Quantizer.QuantizableNodeNames(request.Model.Graph);
            var best = full;
            var kept = new List<KeptFloatNode>();
            IReadOnlyList<NodeSensitivity>? firstRanking = null;
            List<NodeSensitivity> offenders = [];
            string? measuredOfAll = null;
            // Each round measures every node not yet float on top of the float set; the first round is the one-at-a-time
            // ranking. A later round runs only when the helpful nodes of the last are spent and the model still fails:
            // an offender can be masked by a worse one (its gain shows only once the worse one is float).
            // The first round runs even with no float node allowed: its ranking names the offenders.
            while (!best.Accuracy.Passes && !OutOfTime() && (firstRanking is null || kept.Count < (budget.MaxFloatNodes ?? int.MaxValue)))
            {
                var remaining = candidates.Where(c => !floatNodes.Contains(c)).ToList();
                var round = new List<NodeSensitivity>();
                Trial? roundBest = null;
                foreach (var node in remaining)
                {
                    if (OutOfTime()) break;
                    var trial = Measure(node);
                    round.Add(new NodeSensitivity(node, opTypes[node], trial.Accuracy));
                    if (roundBest is null || trial.Accuracy.Score > roundBest.Accuracy.Score) roundBest = trial;
                }
                if (round.Count < remaining.Count) measuredOfAll = $"{round.Count} of {remaining.Count}";
                round = [.. round.OrderByDescending(r => r.Accuracy.Score)];
                firstRanking ??= round;
                var baseline = best.Accuracy.Score;
                offenders = [.. round.Where(r => r.Accuracy.Score > baseline)];
                var improved = false;
                while (offenders.Count > 0 && !best.Accuracy.Passes && kept.Count < (budget.MaxFloatNodes ?? int.MaxValue) && !OutOfTime())
                {
                    var candidate = offenders[0];
                    offenders.RemoveAt(0);
                    // The round's best trial is this candidate on the current float set: no need to run it again.
                    var trial = improved ? Measure(candidate.Node) : roundBest!;
                    if (trial.Accuracy.Score <= best.Accuracy.Score) continue;
                    floatNodes.Add(candidate.Node);
                    kept.Add(new KeptFloatNode(candidate.Node, candidate.OpType, best.Accuracy, trial.Accuracy));
                    best = trial;
                    improved = true;
                }
                if (!improved) break;
            }
            var budgetSpent = kept.Count >= (budget.MaxFloatNodes ?? int.MaxValue) || OutOfTime();
            var failure = best.Accuracy.Passes ? null : BudgetExhausted(request, best.Accuracy, kept.Count, offenders, measuredOfAll, budgetSpent);
            return new SensitivityResult(best.Model, best.Int8, best.Accuracy.Passes, full.Accuracy, best.Accuracy, kept, firstRanking ?? [], trials,
                clock.Elapsed, failure);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>
    /// MF8040. <paramref name="offenders"/>: the last round's helpful nodes not yet tried, best first (their Score is on
    /// the float set of that round); <paramref name="measuredOfAll"/>: "N of M" when time ran out inside a round;
    /// <paramref name="budgetSpent"/>: the pass stopped on its budget rather than for want of a helpful node.
    /// </summary>
    private static Diagnostic BudgetExhausted(SensitivityRequest request, SensitivityAccuracy reached, int keptCount,
        IReadOnlyList<NodeSensitivity> offenders, string? measuredOfAll, bool budgetSpent)
    {
        var budget = request.Budget;
        var spent = new List<string>();
        if (budget.MaxFloatNodes is { } nodes) spent.Add($"at most {nodes} nodes float");
        if (budget.MaxTime is { } time) spent.Add(string.Create(CultureInfo.InvariantCulture, $"{time.TotalSeconds:F0} s"));
        var next = offenders.Take(3).Select(r => string.Create(CultureInfo.InvariantCulture,
            $"{r.Node} ({r.OpType}, float: SQNR {r.Accuracy.Score:F1} dB)")).ToList();
        var hint = next.Count > 0
            ? $"the next offenders are {string.Join(", ", next)}: allow more float nodes or time, or keep the model in fp32"
            : measuredOfAll is not null
                ? $"time ran out after it measured {measuredOfAll} quantized nodes: allow more time"
                : budgetSpent
                    ? "the budget ran out before the nodes left were measured on top of the float set: allow more float nodes or time, or keep the model in fp32"
                    : "no other node helped when kept float (the error is spread over many nodes): keep the model in fp32, or calibrate with real data or another --calibration-method";
        return new Diagnostic(DiagnosticCode.SensitivityBudgetExhausted,
            $"int8 '{request.ModelPath}' still misses its accuracy thresholds with {keptCount} node(s) kept float" +
            $"{(spent.Count > 0 ? $" (budget: {string.Join(", ", spent)})" : "")}: {string.Join("; ", reached.Failures)}",
            new SourceLocation(request.ModelPath), hint);
    }

    /// <summary>Evaluation data that does not fit (MF8042): no sample, counts that differ, a budget below zero.</summary>
    private static void Check(SensitivityRequest request)
    {
        var outputs = request.Model.Graph.Output.Count;
        var problems = new List<string>();
        if (request.Inputs.Count == 0) problems.Add("there is no evaluation sample");
        if (request.ReferenceOutputs.Count != request.Inputs.Count)
            problems.Add($"{request.Inputs.Count} evaluation samples but {request.ReferenceOutputs.Count} reference output sets");
        if (request.ReferenceOutputs.FirstOrDefault(r => r.Count != outputs) is { } wrong)
            problems.Add($"a reference output set has {wrong.Count} tensors, the model {outputs} outputs");
        if (request.Budget.MaxFloatNodes < 0) problems.Add($"the budget allows {request.Budget.MaxFloatNodes} float nodes");
        if (request.Budget.MaxTime < TimeSpan.Zero) problems.Add($"the budget allows {request.Budget.MaxTime} of time");
        if (problems.Count > 0)
            throw new ModelForgeException(DiagnosticCode.SensitivityDataInvalid, $"sensitivity pass on '{request.ModelPath}': {string.Join("; ", problems)}",
                new SourceLocation(request.ModelPath), "give one reference output set (every model output, in graph order) per evaluation sample, and a budget of 0 or more");
    }

    /// <summary>One int8 variant: built with the request's calibration, written, run on every evaluation sample, compared.</summary>
    private sealed record Trial(ModelProto Model, Int8Result Int8, SensitivityAccuracy Accuracy)
    {
        public static Trial Run(SensitivityRequest request, IReadOnlySet<string> floatNodes, string folder, int index)
        {
            var model = request.Model.Clone();
            var int8 = StaticInt8Quantizer.Apply(model, request.ModelPath, request.Calibration, floatNodes);
            var path = Path.Combine(folder, $"trial{index}.onnx");
            File.WriteAllBytes(path, model.ToByteArray());
            var outputNames = model.Graph.Output.Select(o => o.Name).ToList();
            var accumulators = outputNames.Select(_ => new QuantizationMetricsAccumulator()).ToList();
            using (var session = OrtCandidate.TryCreate(CandidateKind.Cpu, path, out _)!)
            {
                for (var sample = 0; sample < request.Inputs.Count; sample++)
                {
                    var outputs = session.Run(request.Inputs[sample]);
                    for (var output = 0; output < outputs.Count; output++)
                        Accumulate(request, accumulators[output], request.ReferenceOutputs[sample][output], outputs[output], outputNames[output]);
                }
            }
            File.Delete(path);
            var metrics = accumulators.Select(a => a.Result()).ToList();
            var failures = metrics.SelectMany((m, i) => request.Thresholds.Failures(m).Select(f => outputNames.Count > 1 ? $"{outputNames[i]}: {f}" : f)).ToList();
            return new Trial(model, int8, new SensitivityAccuracy(metrics, failures));
        }

        private static void Accumulate(SensitivityRequest request, QuantizationMetricsAccumulator accumulator, HostTensor reference, HostTensor actual, string output)
        {
            if (!reference.Shape.SequenceEqual(actual.Shape))
                throw new ModelForgeException(DiagnosticCode.SensitivityDataInvalid,
                    $"sensitivity pass on '{request.ModelPath}': output '{output}' is {actual} but its reference is {reference}", new SourceLocation(request.ModelPath),
                    "give reference outputs computed on the same evaluation inputs, in the graph's output order");
            accumulator.Add(reference, actual);
        }
    }
}
