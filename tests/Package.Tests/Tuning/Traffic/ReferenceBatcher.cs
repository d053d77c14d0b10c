namespace ModelForge.Package.Tests.Tuning.Traffic;

/// <summary>
/// An independent reference for the simulator, written batch by batch instead of event by event: each batch starts
/// on the earliest-free instance at the latest of its free time, the oldest waiting request's arrival and the previous
/// batch's dispatch (one batcher forms one batch at a time), then waits
/// until the smallest preferred size has arrived or the queue delay of the oldest request ran out; it takes the
/// largest preferred size that fits before the delay ran out, and everything waiting (up to the largest preferred
/// size) once the delay ran out or that size is reached. Deterministic service times only.
/// </summary>
internal static class ReferenceBatcher
{
    public static double[] Latencies(double[] arrivals, int[] preferred, double delay, int instances, Func<int, double> serviceTime)
    {
        var (smallest, largest) = (preferred.Min(), preferred.Max());
        var latencies = new double[arrivals.Length];
        var freeAt = new double[instances];
        var (head, previousSend) = (0, 0.0);
        while (head < arrivals.Length)
        {
            var instance = Array.IndexOf(freeAt, freeAt.Min());
            var start = Math.Max(Math.Max(freeAt[instance], arrivals[head]), previousSend);
            var deadline = arrivals[head] + delay;
            var smallestArrived = head + smallest - 1 < arrivals.Length ? arrivals[head + smallest - 1] : double.PositiveInfinity;
            var sendAt = Math.Max(start, Math.Min(deadline, smallestArrived));
            var waiting = Math.Min(largest, arrivals.Skip(head).TakeWhile(a => a <= sendAt).Count());
            var size = waiting == largest || sendAt >= deadline ? waiting : preferred.Where(p => p <= waiting).Max();
            var done = sendAt + serviceTime(size);
            for (var k = head; k < head + size; k++) latencies[k] = done - arrivals[k];
            freeAt[instance] = done;
            head += size;
            previousSend = sendAt;
        }
        return latencies;
    }
}
