// Traffic-aware batching benchmark (issue 22): the batcher simulator's p99 against a real batching queue in this process.
// 1. Service times: the tuner's own measurement of every batch size 1..max (exhaustive, perf_analyzer windows), then its
//    open-loop service-time distribution of each (OpenLoopServiceTimes: what a traffic profile makes the tuner measure).
// 2. For each rate (fractions of the saturation rate those service times give): an open-loop load generator sends Poisson
//    arrivals into one FIFO queue; N worker threads, one ONNX Runtime session each (cores / N intra-op threads, as the
//    tuner's probe), take batches with DynamicBatcherPolicy (the simulator's policy) whenever they are free and run them.
// 3. The simulator predicts p50/p99 for the same policy and rate from the tuner's service times (what a build does); the
//    error is (predicted − measured) / measured. A second prediction uses the service times observed during the same run
//    (each batch's run time, per size; the tuner's for sizes the run never sent), which separates the queueing model's
//    error from the drift of a shared machine between the tuner's measurement and the run.
// Usage: TrafficBench MODEL.pt|MODEL.onnx INPUT_SPEC OUT_DIR [--instances 1] [--max-batch 8] [--preferred 4,8] [--delay-us 2000]
//        [--seconds 45] [--fractions 0.3,0.5,0.7] [--seed 1]
// Prints a markdown table on stdout, progress on stderr; the service-time report under OUT_DIR/service.
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ModelForge.Convert;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Package.Tuning;
using ModelForge.Package.Tuning.Traffic;
using ModelForge.Runtime;

var (model, spec, outDir) = (args[0], args[1], args[2]);
string Arg(string name, string fallback) => Array.IndexOf(args, name) is var i and >= 0 ? args[i + 1] : fallback;
double[] Numbers(string name, string fallback) => Arg(name, fallback).Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
var instances = int.Parse(Arg("--instances", "1"), CultureInfo.InvariantCulture);
var maxBatch = int.Parse(Arg("--max-batch", "8"), CultureInfo.InvariantCulture);
var preferred = Numbers("--preferred", "4,8").Select(p => (int)p).ToArray();
var delaySeconds = double.Parse(Arg("--delay-us", "2000"), CultureInfo.InvariantCulture) / 1e6;
var seconds = double.Parse(Arg("--seconds", "45"), CultureInfo.InvariantCulture);
var fractions = Numbers("--fractions", "0.3,0.5,0.7");
var seed = int.Parse(Arg("--seed", "1"), CultureInfo.InvariantCulture);
var input = InputSpec.Parse(spec);

Directory.CreateDirectory(outDir);
var onnx = model;
if (model.EndsWith(".pt", StringComparison.Ordinal))
{
    onnx = Path.Combine(outDir, Path.GetFileNameWithoutExtension(model) + ".onnx");
    using var converted = ModelConverter.Convert(model, new ConvertOptions([input]));
    converted.WriteTo(onnx);
}

// 1. Service times, as the tuner measures them: every batch size up to the max, at N instances.
var options = TuningOptions.For(TuningLevel.Full) with
{
    Search = TuningSearch.Exhaustive,
    BatchSizes = Enumerable.Range(1, maxBatch).ToList(),
    InstanceCounts = [instances],
    OpenLoopServiceTimes = true,
    Measurement = new MeasurementSettings { Warmup = TimeSpan.FromMilliseconds(500), Window = TimeSpan.FromSeconds(1), MaxWindow = TimeSpan.FromSeconds(4), MinRequestsPerWindow = 10, MaxWindows = 6 },
};
var tuned = BatchTuner.Tune(onnx, [input], new TuningObjective(), options, new Progress<string>(Console.Error.WriteLine));
TuningReportWriter.Write(tuned.Report, Path.Combine(outDir, "service"));
var curve = ServiceTimeCurve.FromMeasurements(tuned.Report.Measurements)[instances];
var policy = new DynamicBatcherPolicy(maxBatch, preferred, delaySeconds);
var saturation = instances * policy.LargestPreferred / curve.Mean(policy.LargestPreferred);
Console.Error.WriteLine($"service medians (ms): {string.Join(", ", curve.Points.Select(p => $"{p.BatchSize}: {p.MedianSeconds * 1000:0.00}"))}; saturation {saturation:0.0} requests/s");

// The sessions and one input per batch size, as the tuner's probe makes them.
var threads = Math.Max(1, Environment.ProcessorCount / instances);
var sessions = Enumerable.Range(0, instances).Select(_ => OrtHost.Open(new OrtSessionRequest(onnx, OrtFailure.CannotLoad(DiagnosticCode.TuningRunFailed, onnx))
{
    ExecutionMode = ExecutionMode.ORT_SEQUENTIAL, IntraOpThreads = threads, InterOpThreads = 1,
})).ToList();
var values = new Dictionary<int, OrtValue>();
for (var b = 1; b <= maxBatch; b++)
{
    var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, (TensorElementType)(int)input.DataType, TuningInputs.Shapes([input], b, new Dictionary<string, long>())[0]);
    InputValues.Fill(value.GetTensorMutableRawData(), input, 0, 0);
    values[b] = value;
}

string F(double v, string format = "0.0") => v.ToString(format, CultureInfo.InvariantCulture);
double Percentile(double[] sorted, double p) => sorted[(int)Math.Floor(p / 100 * (sorted.Length - 1) + 0.5)];
Console.WriteLine($"| rate (requests/s) | of saturation | requests | measured p50 / p99 (ms) | predicted p50 / p99 (ms) | p99 error | p99 predicted from the run's service times (error) | mean batch measured / predicted | utilisation measured / predicted |");
Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
var errors = new List<double>();
foreach (var fraction in fractions)
{
    var rate = fraction * saturation;
    var profile = new TrafficProfile(rate);
    var simulated = BatcherSimulator.Run(ArrivalTimes.Generate(profile, TrafficPlanner.SimulatedRequests, seed), policy, instances, curve, seed);
    var (predictedP50, predictedP99) = (simulated.PercentileMilliseconds(50, TrafficPlanner.WarmupRequests), simulated.PercentileMilliseconds(99, TrafficPlanner.WarmupRequests));

    var measured = OpenLoop(ArrivalTimes.Generate(profile, (int)(rate * seconds), seed + 1));
    var warm = measured.Latencies.Skip(measured.Latencies.Length / 10).Order().ToArray();
    var (p50, p99) = (Percentile(warm, 50) * 1000, Percentile(warm, 99) * 1000);
    var error = (predictedP99 - p99) / p99;
    errors.Add(error);
    var observed = new ServiceTimeCurve(curve.Points.Where(p => !measured.Service.ContainsKey(p.BatchSize)).Concat(measured.Service.Values));
    var replayed = BatcherSimulator.Run(ArrivalTimes.Generate(profile, TrafficPlanner.SimulatedRequests, seed), policy, instances, observed, seed).PercentileMilliseconds(99, TrafficPlanner.WarmupRequests);
    var replayError = (replayed - p99) / p99;
    Console.Error.WriteLine($"rate {F(rate)}/s: measured p99 {F(p99, "0.00")} ms, predicted {F(predictedP99, "0.00")} ms ({error:+0.0%;-0.0%}), from the run's service times {F(replayed, "0.00")} ms ({replayError:+0.0%;-0.0%}); " +
                            $"run's service medians (ms) {string.Join(", ", measured.Service.Values.OrderBy(p => p.BatchSize).Select(p => $"{p.BatchSize}: {p.MedianSeconds * 1000:0.00}"))}; generator lag max {F(measured.MaxLagMs, "0.00")} ms");
    Console.WriteLine($"| {F(rate)} | {fraction:0%} | {warm.Length} | {F(p50, "0.00")} / {F(p99, "0.00")} | {F(predictedP50, "0.00")} / {F(predictedP99, "0.00")} | {error:+0.0%;-0.0%} | " +
                      $"{F(replayed, "0.00")} ({replayError:+0.0%;-0.0%}) | {F(measured.MeanBatch, "0.00")} / {F(simulated.MeanBatchSize, "0.00")} | {measured.Utilisation:0%} / {simulated.Utilisation:0%} |");
}
Console.WriteLine();
Console.WriteLine($"Policy: {instances} instance(s) × {threads} intra-op thread(s), max batch {maxBatch}, preferred [{string.Join(", ", preferred)}], queue delay {F(delaySeconds * 1e6, "0")} µs; " +
                  $"saturation {F(saturation)} requests/s from the measured service times; worst |p99 error| {errors.Max(Math.Abs):0.0%}.");
foreach (var session in sessions) session.Dispose();
return 0;

// Open loop: a generator thread enqueues each request at its arrival time whatever the queue holds; the workers batch
// and run. A request's latency is from its enqueue to its batch's completion, as Triton's queue + compute time.
(double[] Latencies, double MeanBatch, double Utilisation, double MaxLagMs, Dictionary<int, ServicePoint> Service) OpenLoop(double[] arrivals)
{
    var runs = new List<(int Size, double Seconds)>();
    var queue = new Queue<(int Index, long Enqueued)>();
    var latencies = new double[arrivals.Length];
    var batches = new List<int>();
    var busyTicks = 0L;
    var generated = false;
    var maxLag = 0.0;
    var clock = Stopwatch.StartNew();
    double Now() => clock.Elapsed.TotalSeconds;
    var workers = sessions.Select((session, w) => new Thread(() =>
    {
        using var runOptions = new RunOptions();
        var names = session.InputNames;
        var outputs = session.OutputNames;
        while (true)
        {
            var taken = new List<(int Index, long Enqueued)>();
            lock (queue)
            {
                while (taken.Count == 0)
                {
                    if (queue.Count == 0)
                    {
                        if (generated) return;
                        Monitor.Wait(queue);
                        continue;
                    }
                    var decision = policy.Next(queue.Count, (clock.ElapsedTicks - queue.Peek().Enqueued) / (double)Stopwatch.Frequency);
                    if (decision.Size > 0)
                        for (var k = 0; k < decision.Size; k++) taken.Add(queue.Dequeue());
                    else
                        Monitor.Wait(queue, TimeSpan.FromSeconds(decision.WaitSeconds));
                }
            }
            var start = clock.ElapsedTicks;
            using (session.Run(runOptions, names, [values[taken.Count]], outputs)) { }
            var done = clock.ElapsedTicks;
            foreach (var (index, enqueued) in taken) latencies[index] = (done - enqueued) / (double)Stopwatch.Frequency;
            lock (batches)
            {
                batches.Add(taken.Count);
                busyTicks += done - start;
                runs.Add((taken.Count, (done - start) / (double)Stopwatch.Frequency));
            }
        }
    }) { IsBackground = true, Name = $"worker-{w}" }).ToList();
    foreach (var worker in workers) worker.Start();
    for (var i = 0; i < arrivals.Length; i++)
    {
        // Sleep to 1 ms before the arrival, then spin; the remaining time is read once (it can run out meanwhile).
        for (var remaining = arrivals[i] - Now(); remaining > 0.002; remaining = arrivals[i] - Now()) Thread.Sleep(TimeSpan.FromSeconds(remaining - 0.001));
        while (Now() < arrivals[i]) Thread.SpinWait(20);
        maxLag = Math.Max(maxLag, (Now() - arrivals[i]) * 1000);
        lock (queue)
        {
            queue.Enqueue((i, clock.ElapsedTicks));
            Monitor.PulseAll(queue);
        }
    }
    lock (queue)
    {
        generated = true;
        Monitor.PulseAll(queue);
    }
    foreach (var worker in workers) worker.Join();
    var span = Now() - arrivals[0];
    // Each batch size the run sent at least 5 times, as the tuner summarises a measurement: median, mean, p99.
    var service = runs.GroupBy(r => r.Size).Where(g => g.Count() >= 5).ToDictionary(g => g.Key, g =>
    {
        var sorted = g.Select(r => r.Seconds).Order().ToArray();
        return new ServicePoint(g.Key, Percentile(sorted, 50), sorted.Average(), Percentile(sorted, 99));
    });
    return (latencies, batches.Average(), busyTicks / (double)Stopwatch.Frequency / (instances * span), maxLag, service);
}
