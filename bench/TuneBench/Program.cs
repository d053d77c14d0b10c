// Tuner benchmark (issue 4): the quick search against an exhaustive sweep of the same grid, in one process, with the
// same measurement settings. Usage: TuneBench MODEL.pt|MODEL.onnx INPUT_SPEC OUT_DIR [--batches 1,2,4] [--instances 1,2] [--budget MS]
// Prints a markdown table on stdout; progress on stderr; both reports (JSON + SVG) under OUT_DIR/{quick,sweep}.
using System.Diagnostics;
using System.Globalization;
using ModelForge.Convert;
using ModelForge.Model;
using ModelForge.Package.Tuning;

var model = args[0];
var spec = args[1];
var outDir = args[2];
int[] Ints(string name, int[] fallback)
{
    var i = Array.IndexOf(args, name);
    return i < 0 ? fallback : args[i + 1].Split(',').Select(int.Parse).ToArray();
}
var budgetAt = Array.IndexOf(args, "--budget");
double? budget = budgetAt < 0 ? null : double.Parse(args[budgetAt + 1], CultureInfo.InvariantCulture);

Directory.CreateDirectory(outDir);
var onnx = model;
if (model.EndsWith(".pt", StringComparison.Ordinal))
{
    onnx = Path.Combine(outDir, Path.GetFileNameWithoutExtension(model) + ".onnx");
    using var converted = ModelConverter.Convert(model, new ConvertOptions([InputSpec.Parse(spec)]));
    converted.WriteTo(onnx);
}

var options = TuningOptions.For(TuningLevel.Full) with
{
    BatchSizes = Ints("--batches", [1, 2, 4, 8, 16, 32, 64]),
    InstanceCounts = Ints("--instances", [1, 2]),
    Measurement = new MeasurementSettings
    {
        Warmup = TimeSpan.FromMilliseconds(500),
        Window = TimeSpan.FromSeconds(1),
        MaxWindow = TimeSpan.FromSeconds(4),
        MinRequestsPerWindow = 3,
        MaxWindows = 6,
    },
};
var objective = new TuningObjective(TuningGoal.MaxThroughput, budget);
var progress = new Progress<string>(Console.Error.WriteLine);

(TuningResult Result, double Seconds) Run(TuningSearch search)
{
    var watch = Stopwatch.StartNew();
    var result = BatchTuner.Tune(onnx, objective, options with { Search = search }, progress);
    var seconds = watch.Elapsed.TotalSeconds;
    TuningReportWriter.Write(result.Report, Path.Combine(outDir, search.ToString().ToLowerInvariant()));
    return (result, seconds);
}

var (quick, quickSeconds) = Run(TuningSearch.Quick);
var (sweep, sweepSeconds) = Run(TuningSearch.Exhaustive);

string F(double v, string format = "0.0") => v.ToString(format, CultureInfo.InvariantCulture);
var best = sweep.Report.Decision;
var chosen = quick.Report.Decision;
var sameInSweep = sweep.Report.Measurements.FirstOrDefault(m => m.BatchSize == chosen.BatchSize && m.InstanceCount == chosen.InstanceCount);
Console.WriteLine("| search | wall s | configs measured | chosen (batch × instances) | its throughput /s | its p99 ms | config |");
Console.WriteLine("|---|---:|---:|---|---:|---:|---|");
foreach (var (name, result, seconds) in new[] { ("quick (tuner)", quick, quickSeconds), ("exhaustive sweep", sweep, sweepSeconds) })
{
    var d = result.Report.Decision;
    Console.WriteLine($"| {name} | {F(seconds)} | {result.Report.Measurements.Count} | {d.BatchSize} × {d.InstanceCount} | {F(d.ThroughputPerSecond)} | {F(d.P99Milliseconds, "0.00")} | {BatchTuner.Describe(d.Config)} |");
}
Console.WriteLine();
Console.WriteLine($"- tuner time / sweep time: {F(100 * quickSeconds / sweepSeconds)} % (target ≤ 30 %)");
Console.WriteLine($"- tuner's choice as measured by the tuner / sweep's best: {F(100 * chosen.ThroughputPerSecond / best.ThroughputPerSecond)} % (target ≥ 95 %)");
if (sameInSweep is not null)
    Console.WriteLine($"- tuner's choice as measured in the sweep / sweep's best: {F(100 * sameInSweep.ThroughputPerSecond / best.ThroughputPerSecond)} % (the same configuration measured again: run-to-run noise on this machine)");
Console.WriteLine();
Console.WriteLine("Sweep measurements (throughput /s, p99 ms):");
Console.WriteLine();
Console.WriteLine("| batch | " + string.Join(" | ", sweep.Report.InstanceCounts.Select(i => $"{i} instance(s)")) + " |");
Console.WriteLine("|---:|" + string.Concat(sweep.Report.InstanceCounts.Select(_ => "---:|")));
foreach (var b in sweep.Report.BatchSizes)
{
    var cells = sweep.Report.InstanceCounts.Select(i => sweep.Report.Measurements.FirstOrDefault(m => m.BatchSize == b && m.InstanceCount == i) is { Succeeded: true } m
        ? $"{F(m.ThroughputPerSecond)} / {F(m.P99Milliseconds, "0.0")}{(m.Stable ? "" : " (unstable)")}" : "failed");
    Console.WriteLine($"| {b} | {string.Join(" | ", cells)} |");
}
