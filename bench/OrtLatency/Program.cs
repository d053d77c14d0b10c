// ONNX Runtime CPU latency of two ONNX models on the same random input. Usage:
//   OrtLatency A.onnx B.onnx [--threads 2] [--batch 1,8] [--warmup 5] [--runs 100] [--budget-s 0] [--dim seq=16]
//              [--int-range 1000]
// Symbolic dims are the batch size unless named in --dim; int64 inputs (token ids) are uniform in [0, --int-range).
// --budget-s S (0 = none) caps the timed pairs of one batch size at S seconds (at least 5 pairs; warm-up stops after
// one run each once it has taken S/4), so one run over a whole zoo takes bounded time: a 3 ms model still gets all
// --runs pairs, a 20 s one 5.
//   OrtLatency A.onnx --load-only      (create a session and run batch 1 once: "does ORT load it?")
//   OrtLatency A.onnx B.onnx --graph-only   (just the ort-graph line below, no timing)
//   --compare   also print, per batch size, the largest absolute difference between A's and B's float outputs
//   OrtLatency A.onnx --accuracy INPUTS.f32 REFERENCE.f32 --rows N
//              (runs A on N rows of raw little-endian float32 inputs, in batches of 8, against the reference outputs
//              another runtime wrote for the same rows; prints "accuracy rows N cosine_mean C cosine_min M sqnr_db S")
// Prints one line per batch size:
//   "batch B a_ms MEDIAN b_ms MEDIAN ratio R ci95 LO HI pairs N"
// and then one line comparing the graphs ONNX Runtime actually runs (after its own ORT_ENABLE_ALL optimisation):
//   "ort-graph same-ops|different-ops a_nodes N b_nodes M a_weights X b_weights Y [diff: op a/b ...]"
//
// Why measured this way: on a small machine two sessions with their own thread pools disturb each other (the idle
// pool's threads spin while the other model runs), which made the order of the two models matter by up to +-9 %.
// Both sessions therefore share one global intra-op pool, runs alternate A,B then B,A, and the ratio is the median of
// the per-pair ratios (each pair ran back to back, under the same load) with a bootstrap 95 % interval.
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

var paths = args.TakeWhile(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
string Option(string name, string fallback) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
var threads = int.Parse(Option("--threads", "2"), CultureInfo.InvariantCulture);
var batches = Option("--batch", "1,8").Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture)).ToArray();
var warmup = int.Parse(Option("--warmup", "5"), CultureInfo.InvariantCulture);
var runs = int.Parse(Option("--runs", "100"), CultureInfo.InvariantCulture);
var budget = TimeSpan.FromSeconds(double.Parse(Option("--budget-s", "0"), CultureInfo.InvariantCulture));
const int minimumPairs = 5;
var namedDims = Option("--dim", "").Split(',', StringSplitOptions.RemoveEmptyEntries)
    .Select(d => d.Split('=')).ToDictionary(d => d[0], d => long.Parse(d[1], CultureInfo.InvariantCulture));
var intRange = int.Parse(Option("--int-range", "1000"), CultureInfo.InvariantCulture);

var environmentOptions = new EnvironmentCreationOptions
{
    logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
    threadOptions = new OrtThreadingOptions { GlobalIntraOpNumThreads = threads, GlobalInterOpNumThreads = 1, GlobalSpinControl = true },
};
OrtEnv.CreateInstanceWithOptions(ref environmentOptions);

SessionOptions NewOptions(string? optimizedModelPath = null)
{
    var options = new SessionOptions
    {
        ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
    };
    options.DisablePerSessionThreads();
    if (optimizedModelPath is not null) options.OptimizedModelFilePath = optimizedModelPath;
    return options;
}

if (args.Contains("--accuracy"))
{
    Console.WriteLine(Accuracy(paths[0], Option("--accuracy", ""), args[Array.IndexOf(args, "--accuracy") + 2],
        int.Parse(Option("--rows", "0"), CultureInfo.InvariantCulture)));
    return 0;
}

if (args.Contains("--graph-only"))
{
    Console.WriteLine(CompareOptimizedGraphs(paths[0], paths[1]));
    return 0;
}

using var options = NewOptions();
var sessions = paths.Select(p => new InferenceSession(p, options)).ToArray();
try
{
    if (args.Contains("--load-only"))
    {
        var stopwatch = Stopwatch.StartNew();
        Run(sessions[0], Input(sessions[0], 1, namedDims, intRange));
        Console.WriteLine(FormattableString.Invariant($"loaded and ran batch 1 in {stopwatch.Elapsed.TotalSeconds:F2} s"));
        return 0;
    }
    if (sessions.Length != 2) throw new ArgumentException("give two models (A.onnx B.onnx)");
    foreach (var batch in batches)
    {
        var inputs = sessions.Select(s => Input(s, batch, namedDims, intRange)).ToArray();
        if (args.Contains("--compare")) Console.WriteLine(FormattableString.Invariant($"batch {batch} max_abs_diff {MaxAbsDifference(sessions, inputs):G3}"));
        var clock = Stopwatch.StartNew();
        for (var w = 0; w < warmup && !(w > 0 && budget > TimeSpan.Zero && clock.Elapsed > budget / 4); w++)
            for (var s = 0; s < sessions.Length; s++) Run(sessions[s], inputs[s]);
        clock.Restart();
        var times = new[] { new List<double>(), new List<double>() };
        for (var r = 0; r < runs && !(r >= minimumPairs && budget > TimeSpan.Zero && clock.Elapsed > budget); r++)
            for (var k = 0; k < 2; k++)
            {
                var s = (r + k) % 2; // A,B then B,A: neither model always runs second
                var stopwatch = Stopwatch.StartNew();
                Run(sessions[s], inputs[s]);
                times[s].Add(stopwatch.Elapsed.TotalMilliseconds);
            }
        var pairRatios = times[0].Zip(times[1], (a, b) => a / b).ToArray();
        var (low, high) = BootstrapMedianInterval(pairRatios);
        Console.WriteLine(FormattableString.Invariant(
            $"batch {batch} a_ms {Median(times[0]):F2} b_ms {Median(times[1]):F2} ratio {Median(pairRatios):F3} ci95 {low:F3} {high:F3} pairs {pairRatios.Length}"));
    }
    Console.WriteLine(CompareOptimizedGraphs(paths[0], paths[1]));
    return 0;
}
finally
{
    foreach (var session in sessions) session.Dispose();
}

static double Median(IReadOnlyList<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

// Percentile bootstrap of the median (fixed seed, so a rerun on the same timings prints the same interval).
static (double Low, double High) BootstrapMedianInterval(double[] values)
{
    const int resamples = 2000;
    var random = new Random(12345);
    var medians = new double[resamples];
    var sample = new double[values.Length];
    for (var b = 0; b < resamples; b++)
    {
        for (var i = 0; i < sample.Length; i++) sample[i] = values[random.Next(values.Length)];
        medians[b] = Median(sample);
    }
    Array.Sort(medians);
    return (medians[(int)(0.025 * resamples)], medians[(int)(0.975 * resamples) - 1]);
}

// Lets ONNX Runtime write the graph it runs for each model and compares operator counts: equal counts mean both files
// reach the same kernels, so a latency difference between them is measurement noise.
string CompareOptimizedGraphs(string a, string b)
{
    var folder = Directory.CreateTempSubdirectory("ortlatency-");
    try
    {
        var histograms = new[] { a, b }.Select((path, i) =>
        {
            var optimized = Path.Combine(folder.FullName, $"m{i}.onnx");
            using (var optimizedOptions = NewOptions(optimized))
            using (new InferenceSession(path, optimizedOptions)) { }
            return OptimizedGraph.Read(optimized);
        }).ToArray();
        var ops = histograms[0].Ops.Keys.Union(histograms[1].Ops.Keys).Order(StringComparer.Ordinal);
        var diff = ops.Where(op => histograms[0].Ops.GetValueOrDefault(op) != histograms[1].Ops.GetValueOrDefault(op))
            .Select(op => $"{op} {histograms[0].Ops.GetValueOrDefault(op)}/{histograms[1].Ops.GetValueOrDefault(op)}")
            .ToArray();
        // Weights are reported, not compared: torch.onnx.export shares identical initializers (with random weights,
        // the all-zero biases BatchNorm folding leaves), which changes the count but not the work.
        return FormattableString.Invariant(
            $"ort-graph {(diff.Length == 0 ? "same-ops" : "different-ops")} a_nodes {histograms[0].Ops.Values.Sum()} b_nodes {histograms[1].Ops.Values.Sum()} a_weights {histograms[0].WeightElements} b_weights {histograms[1].WeightElements}")
            + (diff.Length > 0 ? " diff: " + string.Join(", ", diff) : "");
    }
    finally
    {
        folder.Delete(recursive: true);
    }
}

// One random input per graph input: floats in [-1, 1), int64 in [0, intRange); symbolic dims from namedDims, else the
// batch size.
static List<NamedOnnxValue> Input(InferenceSession session, int batch, Dictionary<string, long> namedDims, int intRange)
{
    var random = new Random(0);
    return session.InputMetadata.Select(kv =>
    {
        var symbols = kv.Value.SymbolicDimensions;
        var dims = kv.Value.Dimensions.Select((d, i) => d >= 0 ? d
            : namedDims.TryGetValue(symbols[i], out var named) ? (int)named : batch).ToArray();
        var count = dims.Aggregate(1L, (x, y) => x * y);
        if (kv.Value.ElementDataType == TensorElementType.Int64)
        {
            var ids = new long[count];
            for (var i = 0; i < ids.Length; i++) ids[i] = random.Next(intRange);
            return NamedOnnxValue.CreateFromTensor(kv.Key, new DenseTensor<long>(ids, dims));
        }
        var data = new float[count];
        for (var i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
        return NamedOnnxValue.CreateFromTensor(kv.Key, new DenseTensor<float>(data, dims));
    }).ToList();
}

// Both models get the same inputs (Input is seeded), so equal results mean equal float outputs, in order.
static double MaxAbsDifference(InferenceSession[] sessions, List<NamedOnnxValue>[] inputs)
{
    using var a = sessions[0].Run(inputs[0]);
    using var b = sessions[1].Run(inputs[1]);
    return a.Zip(b, (x, y) => x.AsEnumerable<float>().Zip(y.AsEnumerable<float>(), (p, q) => (double)Math.Abs(p - q)).DefaultIfEmpty().Max()).Max();
}

// Cosine per row (mean and worst) and SQNR = 10 log10(sum ref^2 / sum (ref - out)^2) over all rows, for a one-input model.
string Accuracy(string model, string inputsPath, string referencePath, int rows)
{
    using var options = NewOptions();
    using var session = new InferenceSession(model, options);
    var inputs = ReadFloats(inputsPath);
    var reference = ReadFloats(referencePath);
    var (name, metadata) = session.InputMetadata.Single();
    var rowDims = metadata.Dimensions.Skip(1).ToArray();
    var inputRow = inputs.Length / rows;
    var outputRow = reference.Length / rows;
    var cosines = new List<double>();
    double signal = 0, noise = 0;
    for (var start = 0; start < rows; start += 8)
    {
        var count = Math.Min(8, rows - start);
        var tensor = new DenseTensor<float>(inputs.AsMemory(start * inputRow, count * inputRow), [count, .. rowDims]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(name, tensor)]);
        var output = results.First().AsEnumerable<float>().ToArray();
        for (var r = 0; r < count; r++)
        {
            double dot = 0, aa = 0, bb = 0;
            for (var i = 0; i < outputRow; i++)
            {
                double a = reference[(start + r) * outputRow + i], b = output[r * outputRow + i];
                dot += a * b; aa += a * a; bb += b * b;
                signal += a * a; noise += (a - b) * (a - b);
            }
            cosines.Add(dot / Math.Sqrt(aa * bb));
        }
    }
    return FormattableString.Invariant($"accuracy rows {rows} cosine_mean {cosines.Average():F5} cosine_min {cosines.Min():F5} sqnr_db {10 * Math.Log10(signal / noise):F2}");
}

static float[] ReadFloats(string path) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();

static void Run(InferenceSession session, List<NamedOnnxValue> inputs)
{
    using var outputs = session.Run(inputs);
}
