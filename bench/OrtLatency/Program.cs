// ONNX Runtime CPU latency of two ONNX models on the same random input, measured alternately in one process so
// both see the same machine load. Usage:
//   OrtLatency A.onnx B.onnx [--threads 2] [--batch 1,8] [--warmup 3] [--runs 20] [--hw 224]
//   OrtLatency A.onnx --load-only      (create a session and run batch 1 once: "does ORT load it?")
// Prints one line per batch size: "batch B a_ms MEDIAN b_ms MEDIAN ratio A/B".
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

var paths = args.TakeWhile(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
string Option(string name, string fallback) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
var threads = int.Parse(Option("--threads", "2"), CultureInfo.InvariantCulture);
var batches = Option("--batch", "1,8").Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture)).ToArray();
var warmup = int.Parse(Option("--warmup", "3"), CultureInfo.InvariantCulture);
var runs = int.Parse(Option("--runs", "20"), CultureInfo.InvariantCulture);

using var options = new SessionOptions
{
    IntraOpNumThreads = threads,
    InterOpNumThreads = 1,
    ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
    GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
};
var sessions = paths.Select(p => new InferenceSession(p, options)).ToArray();
try
{
    if (args.Contains("--load-only"))
    {
        var stopwatch = Stopwatch.StartNew();
        Run(sessions[0], Input(sessions[0], 1));
        Console.WriteLine(FormattableString.Invariant($"loaded and ran batch 1 in {stopwatch.Elapsed.TotalSeconds:F2} s"));
        return 0;
    }
    foreach (var batch in batches)
    {
        var inputs = sessions.Select(s => Input(s, batch)).ToArray();
        for (var w = 0; w < warmup; w++)
            for (var s = 0; s < sessions.Length; s++) Run(sessions[s], inputs[s]);
        var times = sessions.Select(_ => new List<double>()).ToArray();
        for (var r = 0; r < runs; r++)
            for (var k = 0; k < sessions.Length; k++)
            {
                var s = (r + k) % sessions.Length; // alternate which model goes first
                var stopwatch = Stopwatch.StartNew();
                Run(sessions[s], inputs[s]);
                times[s].Add(stopwatch.Elapsed.TotalMilliseconds);
            }
        var medians = times.Select(Median).ToArray();
        Console.WriteLine(FormattableString.Invariant(
            $"batch {batch} a_ms {medians[0]:F2} b_ms {(medians.Length > 1 ? medians[1] : double.NaN):F2} ratio {(medians.Length > 1 ? medians[0] / medians[1] : double.NaN):F3}"));
    }
    return 0;
}
finally
{
    foreach (var session in sessions) session.Dispose();
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

// One random float input per graph input, with the symbolic dims set to the batch size.
static List<NamedOnnxValue> Input(InferenceSession session, int batch)
{
    var random = new Random(0);
    return session.InputMetadata.Select(kv =>
    {
        var dims = kv.Value.Dimensions.Select(d => d < 0 ? batch : d).ToArray();
        var data = new float[dims.Aggregate(1L, (a, b) => a * b)];
        for (var i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
        return NamedOnnxValue.CreateFromTensor(kv.Key, new DenseTensor<float>(data, dims));
    }).ToList();
}

static void Run(InferenceSession session, List<NamedOnnxValue> inputs)
{
    using var outputs = session.Run(inputs);
}
