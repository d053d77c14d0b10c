// Traffic-aware batching benchmark (issue 22): the batcher simulator's p99 against a real batching queue in this process.
// 1. Service times: the tuner's own measurement of every batch size 1..max (exhaustive, perf_analyzer windows), then its
//    open-loop service-time distribution of each (OpenLoopServiceTimes: what a traffic profile makes the tuner measure).
// 2. For each rate (fractions of the saturation rate those service times give): an open-loop load generator sends Poisson
//    arrivals into one FIFO queue; N worker threads, one ONNX Runtime session each (cores / N intra-op threads, as the
//    tuner's probe), take batches with DynamicBatcherPolicy (the simulator's policy) whenever they are free and run them.
//    The model gets one core less than the machine has (--cores): the generator and the queue need a core of their own,
//    as a server's clients run on other machines. Sharing the model's cores made arrivals late and bunched (up to 22 ms
//    on 2 cores), a burstier process than the Poisson one the simulator is given.
//    Each rate runs --repeats times, the rates taking turns (a slow spell of the machine then hits every rate alike); the
//    measured p99 is that of all repeats' requests together, and each repeat's own p99 shows the spread.
// 3. The simulator predicts p50/p99 for the same policy and rate from the tuner's service times (what a build does); the
//    error is (predicted − measured) / measured. A second prediction uses the service times observed during the same runs
//    (each batch's run time, per size; the tuner's for sizes the runs never sent), which separates the queueing model's
//    error from the drift of a shared machine between the tuner's measurement and the runs.
// Usage: TrafficBench MODEL.pt|MODEL.onnx INPUT_SPEC OUT_DIR [--instances 1] [--max-batch 8] [--preferred 4,8] [--delay-us 2000]
//        [--seconds 45] [--fractions 0.3,0.5,0.7] [--repeats 3] [--cores machine's − 1] [--seed 1]
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
var repeats = int.Parse(Arg("--repeats", "3"), CultureInfo.InvariantCulture);
var cores = int.Parse(Arg("--cores", Math.Max(1, Environment.ProcessorCount - 1).ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
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
    Cores = cores,
    Measurement = new MeasurementSettings { Warmup = TimeSpan.FromMilliseconds(500), Window = TimeSpan.FromSeconds(1), MaxWindow = TimeSpan.FromSeconds(4), MinRequestsPerWindow = 10, MaxWindows = 6 },
};
var tuned = BatchTuner.Tune(onnx, [input], new TuningObjective(), options, new Progress<string>(Console.Error.WriteLine));
TuningReportWriter.Write(tuned.Report, Path.Combine(outDir, "service"));
var curve = ServiceTimeCurve.FromMeasurements(tuned.Report.Measurements)[instances];
var policy = new DynamicBatcherPolicy(maxBatch, preferred, delaySeconds);
var saturation = instances * policy.LargestPreferred / curve.Mean(policy.LargestPreferred);
Console.Error.WriteLine($"service medians (ms): {string.Join(", ", curve.Points.Select(p => $"{p.BatchSize}: {p.MedianSeconds * 1000:0.00}"))}; saturation {saturation:0.0} requests/s");

// The sessions and one input per batch size, as the tuner's probe makes them.
var threads = OrtThroughputProbe.ThreadsPerInstance(cores, instances);
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

// The rates take turns, one repeat of each per round, each run with arrivals of its own seed.
var rates = fractions.Select(f => (Fraction: f, Profile: new TrafficProfile(f * saturation), Runs: new List<OpenLoopRun>())).ToList();
for (var round = 0; round < repeats; round++)
    for (var r = 0; r < rates.Count; r++)
    {
        var (fraction, profile, runs) = rates[r];
        var run = OpenLoop(ArrivalTimes.Generate(profile, (int)(profile.RequestsPerSecond * seconds), seed + 1 + round * rates.Count + r));
        runs.Add(run);
        Console.Error.WriteLine($"rate {F(profile.RequestsPerSecond)}/s ({fraction:0%}), repeat {round + 1}/{repeats}: p99 {F(run.P99Milliseconds, "0.00")} ms, " +
                                $"mean batch {F(run.Batches.Average(), "0.00")}, generator lag p99/max {F(run.LagMilliseconds(99), "0.00")}/{F(run.LagMilliseconds(100), "0.00")} ms");
    }

Console.WriteLine($"| rate (requests/s) | of saturation | requests | measured p50 / p99 (ms) | p99 of each run (ms) | predicted p50 / p99 (ms) | p99 error | p99 predicted from the runs' service times (error) | mean batch measured / predicted | utilisation measured / predicted | generator lag p99 / max (ms) |");
Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
var errors = new List<double>();
foreach (var (fraction, profile, runs) in rates)
{
    var simulated = BatcherSimulator.Run(ArrivalTimes.Generate(profile, TrafficPlanner.SimulatedRequests, seed), policy, instances, curve, seed);
    var (predictedP50, predictedP99) = (simulated.PercentileMilliseconds(50, TrafficPlanner.WarmupRequests), simulated.PercentileMilliseconds(99, TrafficPlanner.WarmupRequests));

    var warm = runs.SelectMany(run => run.WarmLatencies).ToArray();
    var (p50, p99) = (OpenLoopRun.Percentile(warm, 50) * 1000, OpenLoopRun.Percentile(warm, 99) * 1000);
    var error = (predictedP99 - p99) / p99;
    errors.Add(error);
    // The runs' own service-time distribution of each batch size sent at least 20 times; the tuner's for the others.
    var observed = runs.SelectMany(run => run.Service).GroupBy(s => s.Size).Where(g => g.Count() >= 20)
        .Select(g => ServicePoint.FromQuantiles(g.Key, ServiceTimeCurve.Quantiles(g.Select(s => s.Seconds)))).ToList();
    var replayCurve = new ServiceTimeCurve(curve.Points.Where(p => observed.All(o => o.BatchSize != p.BatchSize)).Concat(observed));
    var replayed = BatcherSimulator.Run(ArrivalTimes.Generate(profile, TrafficPlanner.SimulatedRequests, seed), policy, instances, replayCurve, seed).PercentileMilliseconds(99, TrafficPlanner.WarmupRequests);
    var replayError = (replayed - p99) / p99;
    var lags = runs.SelectMany(run => run.LagsSeconds).ToArray();
    Console.WriteLine($"| {F(profile.RequestsPerSecond)} | {fraction:0%} | {warm.Length} | {F(p50, "0.00")} / {F(p99, "0.00")} | {string.Join(", ", runs.Select(run => F(run.P99Milliseconds)))} | " +
                      $"{F(predictedP50, "0.00")} / {F(predictedP99, "0.00")} | {error:+0.0%;-0.0%} | {F(replayed, "0.00")} ({replayError:+0.0%;-0.0%}) | " +
                      $"{F(runs.SelectMany(run => run.Batches).Average(), "0.00")} / {F(simulated.MeanBatchSize, "0.00")} | {runs.Average(run => run.Utilisation):0%} / {simulated.Utilisation:0%} | " +
                      $"{F(OpenLoopRun.Percentile(lags, 99) * 1000, "0.00")} / {F(lags.Max() * 1000, "0.00")} |");
}
Console.WriteLine();
Console.WriteLine($"Policy: {instances} instance(s) × {threads} intra-op thread(s) on {cores} of {Environment.ProcessorCount} cores, max batch {maxBatch}, preferred [{string.Join(", ", preferred)}], queue delay {F(delaySeconds * 1e6, "0")} µs; " +
                  $"{repeats} run(s) of {F(seconds, "0")} s per rate; saturation {F(saturation)} requests/s from the measured service times; worst |p99 error| {errors.Max(Math.Abs):0.0%}.");
foreach (var session in sessions) session.Dispose();
return 0;

// Open loop: a generator thread enqueues each request at its arrival time whatever the queue holds; the workers batch
// and run. A request's latency is from its enqueue to its batch's completion, as Triton's queue + compute time.
OpenLoopRun OpenLoop(double[] arrivals)
{
    var runs = new List<(int Size, double Seconds)>();
    var queue = new Queue<(int Index, long Enqueued)>();
    var latencies = new double[arrivals.Length];
    var batches = new List<int>();
    var busyTicks = 0L;
    var generated = false;
    var lags = new double[arrivals.Length];
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
        lags[i] = Now() - arrivals[i];
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
    return new OpenLoopRun(latencies, batches, busyTicks / (double)Stopwatch.Frequency / (instances * span), lags, runs);
}

/// <summary>One open-loop run: each request's latency and the generator's lag behind its arrival time, the batches it ran.</summary>
sealed record OpenLoopRun(double[] Latencies, List<int> Batches, double Utilisation, double[] LagsSeconds, List<(int Size, double Seconds)> Service)
{
    /// <summary>The latencies after the first 10 % of the run (the queue starts empty).</summary>
    public double[] WarmLatencies => Latencies.Skip(Latencies.Length / 10).ToArray();

    public double P99Milliseconds => Percentile(WarmLatencies, 99) * 1000;

    public double LagMilliseconds(double percentile) => Percentile(LagsSeconds, percentile) * 1000;

    /// <summary>The nearest-rank percentile of <paramref name="values"/>.</summary>
    public static double Percentile(double[] values, double percentile)
    {
        var sorted = values.Order().ToArray();
        return sorted[(int)Math.Floor(percentile / 100 * (sorted.Length - 1) + 0.5)];
    }
}
