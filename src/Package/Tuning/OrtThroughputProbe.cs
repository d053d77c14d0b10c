using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Runtime;

namespace ModelForge.Package.Tuning;

/// <summary>
/// Measures an ONNX model on this machine's ONNX Runtime: one <see cref="InferenceSession"/> per instance, each driven
/// by its own worker thread that sends requests back to back (concurrency = instance count, as a server with that many
/// instances under full load). Each instance gets cores / instances intra-op threads (at least 1), so instances ×
/// threads never exceeds the cores. A requested GPU provider that cannot run here (<see cref="ProviderProbe"/>) is
/// replaced by the CPU provider with warning MF4054 in <see cref="Warnings"/>.
/// <para>
/// A window starts when the workers are released and ends at the first request completion at which it has lasted
/// <c>window</c> and counted <see cref="MeasurementSettings.MinRequestsPerWindow"/> requests (or has lasted
/// <see cref="MeasurementSettings.MaxWindow"/> with at least one). Requests completing after the end are not counted.
/// </para>
/// </summary>
public sealed class OrtThroughputProbe : IThroughputProbe, IOpenLoopProbe, IDisposable
{
    private readonly string _onnxPath;
    private readonly IReadOnlyList<InputSpec> _inputs;
    private readonly TuningOptions _options;
    private readonly TimeProvider _clock;
    private readonly OrtProvider _provider;
    private readonly List<InferenceSession> _sessions = [];
    private readonly List<OrtValue> _values = [];
    private int _valuesBatch = -1;

    public OrtThroughputProbe(string onnxPath, IReadOnlyList<InputSpec> inputs, TuningOptions options, TimeProvider? clock = null)
    {
        _onnxPath = onnxPath;
        _inputs = inputs;
        _options = options;
        _clock = clock ?? TimeProvider.System;
        foreach (var input in inputs.Where(i => !InputValues.CanGenerate(i.DataType)))
            throw new ModelForgeException(DiagnosticCode.TuningInputUnresolved, $"input '{input.Name}' has element type {(int)input.DataType}, which the tuner cannot generate", null,
                "the tuner generates float, integer and bool inputs");
        TuningInputs.Shapes(inputs, 1, options.DimValues); // every symbolic dim has a size, or fail before measuring
        _provider = ProviderOf(options.Provider);
        if (ProviderProbe.For(_provider) is { Available: false } probe)
        {
            Warnings.Add(new TuningWarning(DiagnosticCode.TuningProviderUnavailable.AsString(),
                $"{_provider.ExecutionProviderName()} cannot run here ({probe.Reason}); measured on CPUExecutionProvider instead, so the choice fits this machine's CPU, not the serving GPU"));
            _provider = OrtProvider.Cpu;
        }
    }

    /// <summary>Warnings from setting up (a provider replaced by the CPU one).</summary>
    public List<TuningWarning> Warnings { get; } = [];

    public string ExecutionProvider => _provider.ExecutionProviderName();

    public int ThreadsPerInstance(int instanceCount) => ThreadsPerInstance(_options.Cores, instanceCount);

    /// <summary>cores / instances, at least 1: each instance's share of the cores. Triton's <c>intra_op_thread_count</c> is written with the same rule.</summary>
    public static int ThreadsPerInstance(int cores, int instanceCount) => Math.Max(1, cores / Math.Max(1, instanceCount));

    public WindowStats Measure(int batchSize, int instanceCount, TimeSpan window, MeasurementSettings settings, CancellationToken cancellationToken)
    {
        PrepareSessions(instanceCount);
        PrepareValues(batchSize);
        var names = _sessions[0].InputNames;
        var outputs = _sessions[0].OutputNames;
        var completions = new List<(long End, double Ms)>[instanceCount];
        var failures = new Exception?[instanceCount];
        long start = 0, end = long.MaxValue;
        var completed = 0;
        using var ready = new Barrier(instanceCount + 1);
        var threads = new Thread[instanceCount];
        for (var w = 0; w < instanceCount; w++)
        {
            var worker = w;
            completions[worker] = [];
            threads[worker] = new Thread(() =>
            {
                using var runOptions = new RunOptions();
                ready.SignalAndWait();
                try
                {
                    while (Volatile.Read(ref end) == long.MaxValue && !cancellationToken.IsCancellationRequested)
                    {
                        var t0 = _clock.GetTimestamp();
                        using (var results = _sessions[worker].Run(runOptions, names, _values, outputs)) { }
                        var t1 = _clock.GetTimestamp();
                        completions[worker].Add((t1, _clock.GetElapsedTime(t0, t1).TotalMilliseconds));
                        var count = Interlocked.Increment(ref completed);
                        var elapsed = _clock.GetElapsedTime(Volatile.Read(ref start), t1);
                        if ((elapsed >= window && count >= settings.MinRequestsPerWindow) || elapsed >= settings.MaxWindow)
                            Interlocked.CompareExchange(ref end, t1, long.MaxValue);
                    }
                }
                catch (Exception e) when (e is OnnxRuntimeException or OutOfMemoryException)
                {
                    failures[worker] = e;
                    Interlocked.CompareExchange(ref end, _clock.GetTimestamp(), long.MaxValue);
                }
            }) { IsBackground = true, Name = $"tuner-instance-{worker}" };
            threads[worker].Start();
        }
        Volatile.Write(ref start, _clock.GetTimestamp());
        ready.SignalAndWait();
        foreach (var thread in threads) thread.Join();
        cancellationToken.ThrowIfCancellationRequested();
        if (failures.FirstOrDefault(f => f is not null) is { } failure)
            throw new ProbeFailedException($"{ExecutionProvider} failed at batch {batchSize}: {OrtErrors.FirstLine(failure.Message)}", failure);

        var latencies = completions.SelectMany(c => c).Where(c => c.End <= end).Select(c => c.Ms).Order().ToList();
        return WindowStats.From(latencies, batchSize, _clock.GetElapsedTime(start, end).TotalSeconds);
    }

    public IReadOnlyList<double> MeasureOpenLoop(int batchSize, int instanceCount, double requestsPerSecond, MeasurementSettings settings, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(requestsPerSecond);
        PrepareSessions(instanceCount);
        PrepareValues(batchSize);
        var names = _sessions[0].InputNames;
        var outputs = _sessions[0].OutputNames;
        var queue = new Queue<long>();   // arrival timestamps
        var serviceMs = new List<double>();
        var generated = false;
        Exception? failure = null;
        var workers = _sessions.Select((session, w) => new Thread(() =>
        {
            using var runOptions = new RunOptions();
            var freeSince = _clock.GetTimestamp();
            try
            {
                while (true)
                {
                    long arrived;
                    lock (queue)
                    {
                        while (queue.Count == 0)
                        {
                            if (generated) return;
                            Monitor.Wait(queue);
                        }
                        arrived = queue.Dequeue();
                    }
                    using (session.Run(runOptions, names, _values, outputs)) { }
                    var done = _clock.GetTimestamp();
                    lock (serviceMs) serviceMs.Add(_clock.GetElapsedTime(Math.Max(arrived, freeSince), done).TotalMilliseconds);
                    freeSince = done;
                }
            }
            catch (Exception e) when (e is OnnxRuntimeException or OutOfMemoryException)
            {
                failure = e;
            }
        }) { IsBackground = true, Name = $"tuner-open-loop-{w}" }).ToList();
        foreach (var worker in workers) worker.Start();

        var random = new Random(_options.Seed);
        var start = _clock.GetTimestamp();
        var due = 0.0;
        bool More(int sent) => sent == 0 || ((sent < settings.OpenLoopMinRequests || due < settings.OpenLoopDuration.TotalSeconds) && due < settings.OpenLoopMaxDuration.TotalSeconds);
        for (var sent = 0; More(sent) && failure is null && !cancellationToken.IsCancellationRequested; sent++)
        {
            due += -Math.Log(1 - random.NextDouble()) / requestsPerSecond;
            // Sleep to 1 ms before the arrival, then spin: Thread.Sleep alone is late by up to a scheduler tick.
            for (var remaining = due - _clock.GetElapsedTime(start).TotalSeconds; remaining > 0.002; remaining = due - _clock.GetElapsedTime(start).TotalSeconds)
                Thread.Sleep(TimeSpan.FromSeconds(remaining - 0.001));
            while (_clock.GetElapsedTime(start).TotalSeconds < due) Thread.SpinWait(20);
            lock (queue)
            {
                queue.Enqueue(_clock.GetTimestamp());
                Monitor.Pulse(queue);
            }
        }
        lock (queue)
        {
            generated = true;
            Monitor.PulseAll(queue);
        }
        foreach (var worker in workers) worker.Join();
        cancellationToken.ThrowIfCancellationRequested();
        if (failure is not null)
            throw new ProbeFailedException($"{ExecutionProvider} failed at batch {batchSize} (open loop): {OrtErrors.FirstLine(failure.Message)}", failure);
        return serviceMs;
    }

    private void PrepareSessions(int instanceCount)
    {
        if (_sessions.Count == instanceCount) return;
        DisposeSessions();
        var threads = ThreadsPerInstance(instanceCount);
        var request = new OrtSessionRequest(_onnxPath, OrtFailure.CannotLoad(DiagnosticCode.TuningRunFailed, _onnxPath, ExecutionProvider))
        {
            Provider = _provider,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpThreads = threads,
            InterOpThreads = 1,
        };
        for (var i = 0; i < instanceCount; i++) _sessions.Add(OrtHost.Open(request));
    }

    private void PrepareValues(int batchSize)
    {
        if (_valuesBatch == batchSize) return;
        DisposeValues();
        var shapes = TuningInputs.Shapes(_inputs, batchSize, _options.DimValues);
        for (var i = 0; i < _inputs.Count; i++)
        {
            // The workers share these: ONNX Runtime only reads its inputs.
            var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, (TensorElementType)(int)_inputs[i].DataType, shapes[i]);
            InputValues.Fill(value.GetTensorMutableRawData(), _inputs[i], _options.Seed, i);
            _values.Add(value);
        }
        _valuesBatch = batchSize;
    }

    private static OrtProvider ProviderOf(TuningProvider provider) => provider switch
    {
        TuningProvider.Cuda => OrtProvider.Cuda,
        TuningProvider.TensorRt => OrtProvider.TensorRt,
        _ => OrtProvider.Cpu,
    };

    private void DisposeSessions()
    {
        foreach (var session in _sessions) session.Dispose();
        _sessions.Clear();
    }

    private void DisposeValues()
    {
        foreach (var value in _values) value.Dispose();
        _values.Clear();
        _valuesBatch = -1;
    }

    public void Dispose()
    {
        DisposeSessions();
        DisposeValues();
    }
}
