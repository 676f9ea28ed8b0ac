//! CPython 3.11's `test_asyncio/test_queues.py`, ported: one Rust test per CPython test that
//! applies, in a module named after its CPython class (`queue_get_tests::test_blocking_get` is
//! `QueueGetTests.test_blocking_get`). The expected values and orders are CPython's.
//! `test_generic_alias` and `test_float_maxsize` test Python typing and float sizes, which
//! have no Rust counterpart. `_getters`/`_putters` are private in Rust; the tests read them
//! through the `Debug` output, which is CPython's `str()` of the queue.

use crate::common;

use common::{drop_after, run};

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use tulipsim::{
    create_task, get_running_loop, sleep, task_group, wait_for, Error, Event, EventLoop, LifoQueue,
    PriorityQueue, Queue,
};

mod queue_basic_tests {
    use super::*;

    // QueueBasicTests.test_repr and test_str (Rust's Debug is CPython's str(), without the
    // address that repr() adds).
    #[test]
    fn test_repr_or_str() {
        run(async {
            let q = Queue::<i32>::new(0);
            assert_eq!(format!("{q:?}"), "<Queue maxsize=0>");

            let getter = create_task(q.get())?;
            sleep(0).await?;
            assert_eq!(format!("{q:?}"), "<Queue maxsize=0 _getters[1]>");
            q.put_nowait(0)?;
            assert_eq!(getter.await?, 0);

            let q = Queue::new(1);
            q.put_nowait(1)?;
            let putter = create_task(q.put(2))?;
            sleep(0).await?;
            assert_eq!(
                format!("{q:?}"),
                "<Queue maxsize=1 _queue=[1] _putters[1] tasks=1>"
            );
            q.get_nowait()?;
            (&putter).await?;
            assert!(putter.done());

            let q = Queue::new(0);
            q.put_nowait(1)?;
            assert_eq!(format!("{q:?}"), "<Queue maxsize=0 _queue=[1] tasks=1>");
            Ok(())
        });
    }

    // QueueBasicTests.test_empty
    #[test]
    fn test_empty() {
        run(async {
            let q = Queue::new(0);
            assert!(q.empty());
            q.put(1).await?;
            assert!(!q.empty());
            assert_eq!(q.get().await?, 1);
            assert!(q.empty());
            Ok(())
        });
    }

    // QueueBasicTests.test_full
    #[test]
    fn test_full() {
        run(async {
            let q = Queue::<i32>::new(0);
            assert!(!q.full());
            let q = Queue::new(1);
            q.put(1).await?;
            assert!(q.full());
            Ok(())
        });
    }

    // QueueBasicTests.test_order
    #[test]
    fn test_order() {
        run(async {
            let q = Queue::new(0);
            for i in [1, 3, 2] {
                q.put(i).await?;
            }
            let mut items = Vec::new();
            for _ in 0..3 {
                items.push(q.get().await?);
            }
            assert_eq!(items, [1, 3, 2]);
            Ok(())
        });
    }

    // QueueBasicTests.test_maxsize
    #[test]
    fn test_maxsize() {
        run(async {
            let q = Queue::new(2);
            assert_eq!(q.maxsize(), 2);
            let have_been_put = Rc::new(RefCell::new(Vec::new()));
            let (q2, h) = (q.clone(), have_been_put.clone());
            let t = create_task(async move {
                for i in 0..3 {
                    q2.put(i).await?;
                    h.borrow_mut().push(i);
                }
                Ok(true)
            })?;
            for _ in 0..2 {
                sleep(0).await?;
            }
            // The putter is blocked after putting two items.
            assert_eq!(*have_been_put.borrow(), [0, 1]);
            assert_eq!(q.get().await?, 0);
            // Let the putter resume and put the last item.
            sleep(0).await?;
            assert_eq!(*have_been_put.borrow(), [0, 1, 2]);
            assert_eq!(q.get().await?, 1);
            assert_eq!(q.get().await?, 2);
            assert!(t.done());
            assert_eq!(t.result(), Ok(true));
            Ok(())
        });
    }
}

mod queue_get_tests {
    use super::*;

    // QueueGetTests.test_blocking_get
    #[test]
    fn test_blocking_get() {
        run(async {
            let q = Queue::new(0);
            q.put_nowait(1)?;
            assert_eq!(q.get().await?, 1);
            Ok(())
        });
    }

    // QueueGetTests.test_get_with_putters: a get() that frees a slot wakes the waiting putter.
    // (CPython appends a bare future to `_putters`; here a real putter waits.)
    #[test]
    fn test_get_with_putters() {
        run(async {
            let q = Queue::new(1);
            q.put(1).await?;
            let putter = create_task(q.put(2))?;
            sleep(0).await?;
            assert_eq!(q.get().await?, 1);
            sleep(0).await?;
            assert!(putter.done());
            assert_eq!(putter.result(), Ok(()));
            assert_eq!(q.get_nowait(), Ok(2));
            Ok(())
        });
    }

    // QueueGetTests.test_blocking_get_wait
    #[test]
    fn test_blocking_get_wait() {
        let (_, t) = run(async {
            let q = Queue::new(0);
            let started = Event::new();
            let finished = Rc::new(Cell::new(false));
            let (q2, s, f) = (q.clone(), started.clone(), finished.clone());
            let queue_get_task = create_task(async move {
                s.set();
                let res = q2.get().await?;
                f.set(true);
                Ok(res)
            })?;
            started.wait().await?;
            assert!(!finished.get());
            get_running_loop()?.call_later(0.01, move || q.put_nowait(1).unwrap());
            let res = queue_get_task.await?;
            assert!(finished.get());
            assert_eq!(res, 1);
            Ok(())
        });
        assert_eq!(t, 0.01);
    }

    // QueueGetTests.test_nonblocking_get
    #[test]
    fn test_nonblocking_get() {
        let q = Queue::new(0);
        q.put_nowait(1).unwrap();
        assert_eq!(q.get_nowait(), Ok(1));
    }

    // QueueGetTests.test_nonblocking_get_exception
    #[test]
    fn test_nonblocking_get_exception() {
        let q = Queue::<i32>::new(0);
        assert_eq!(q.get_nowait(), Err(Error::QueueEmpty));
    }

    // QueueGetTests.test_get_cancelled_race
    #[test]
    fn test_get_cancelled_race() {
        run(async {
            let q = Queue::new(0);
            let t1 = create_task(q.get())?;
            let t2 = create_task(q.get())?;
            sleep(0).await?;
            t1.cancel();
            sleep(0).await?;
            assert!(t1.done());
            q.put("a").await?;
            sleep(0).await?;
            assert_eq!(t2.await?, "a");
            Ok(())
        });
    }

    // QueueGetTests.test_get_with_waiting_putters
    #[test]
    fn test_get_with_waiting_putters() {
        run(async {
            let q = Queue::new(1);
            create_task(q.put("a"))?;
            create_task(q.put("b"))?;
            assert_eq!(q.get().await?, "a");
            assert_eq!(q.get().await?, "b");
            Ok(())
        });
    }

    // QueueGetTests.test_why_are_getters_waiting
    #[test]
    fn test_why_are_getters_waiting() {
        run(async {
            let q = Queue::new(1);
            let n = 5;
            task_group(|tg| async move {
                let p = q.clone();
                tg.create_task(async move {
                    for i in 0..n {
                        p.put(i).await?;
                    }
                    Ok(())
                })?;
                tg.create_task(async move {
                    for _ in 0..n {
                        q.get().await?;
                    }
                    Ok(())
                })?;
                Ok(())
            })
            .await
        });
    }

    // QueueGetTests.test_cancelled_getters_not_being_held_in_self_getters
    #[test]
    fn test_cancelled_getters_not_being_held_in_self_getters() {
        let (_, t) = run(async {
            let q = Queue::<i32>::new(5);
            assert_eq!(wait_for(q.get(), 0.1).await, Err(Error::timeout()));
            assert_eq!(format!("{q:?}"), "<Queue maxsize=5>"); // no _getters
            Ok(())
        });
        assert_eq!(t, 0.1);
    }
}

mod queue_put_tests {
    use super::*;

    // QueuePutTests.test_blocking_put
    #[test]
    fn test_blocking_put() {
        run(async {
            let q = Queue::new(0);
            // No maxsize, won't block.
            q.put(1).await?;
            assert_eq!(q.get().await?, 1);
            Ok(())
        });
    }

    // QueuePutTests.test_blocking_put_wait
    #[test]
    fn test_blocking_put_wait() {
        let (_, t) = run(async {
            let q = Queue::new(1);
            let started = Event::new();
            let finished = Rc::new(Cell::new(false));
            let (q2, s, f) = (q.clone(), started.clone(), finished.clone());
            get_running_loop()?.call_later(0.01, move || {
                q.get_nowait().unwrap();
            });
            let queue_put_task = create_task(async move {
                s.set();
                q2.put(1).await?;
                q2.put(2).await?;
                f.set(true);
                Ok(())
            })?;
            started.wait().await?;
            assert!(!finished.get());
            queue_put_task.await?;
            assert!(finished.get());
            Ok(())
        });
        assert_eq!(t, 0.01);
    }

    // QueuePutTests.test_nonblocking_put
    #[test]
    fn test_nonblocking_put() {
        let q = Queue::new(0);
        q.put_nowait(1).unwrap();
        assert_eq!(q.get_nowait(), Ok(1));
    }

    // QueuePutTests.test_get_cancel_drop_one_pending_reader: a reader woken and cancelled
    // before it runs leaves the item in the queue; item 1 is not dropped.
    #[test]
    fn test_get_cancel_drop_one_pending_reader() {
        run(async {
            let q = Queue::new(0);
            let mut reader = create_task(q.get())?;
            sleep(0).await?;
            q.put_nowait(1)?;
            q.put_nowait(2)?;
            reader.cancel();
            if let Err(e) = (&reader).await {
                assert!(e.is_cancelled());
                // try again
                reader = create_task(q.get())?;
                (&reader).await?;
            }
            // if we get 2, it means 1 got dropped!
            assert_eq!(reader.result(), Ok(1));
            Ok(())
        });
    }

    // QueuePutTests.test_get_cancel_drop_many_pending_readers
    #[test]
    fn test_get_cancel_drop_many_pending_readers() {
        run(async {
            let q = Queue::new(0);
            let (r2, r3) = task_group(|tg| async move {
                let reader1 = tg.create_task(q.get())?;
                let reader2 = tg.create_task(q.get())?;
                let reader3 = tg.create_task(q.get())?;
                sleep(0).await?;
                q.put_nowait(1)?;
                q.put_nowait(2)?;
                reader1.cancel();
                assert!(reader1.await.unwrap_err().is_cancelled());
                (&reader3).await?;
                Ok((reader2, reader3))
            })
            .await?;
            // CPython leaves the order undefined; its code, and this port, give FIFO.
            assert_eq!((r2.result()?, r3.result()?), (1, 2));
            Ok(())
        });
    }

    // QueuePutTests.test_put_cancel_drop
    #[test]
    fn test_put_cancel_drop() {
        run(async {
            let q = Queue::new(1);
            q.put_nowait(1)?;
            // putting a second item in the queue has to block (qsize=1)
            let mut writer = create_task(q.put(2))?;
            sleep(0).await?;
            assert_eq!(q.get_nowait(), Ok(1));
            writer.cancel();
            if let Err(e) = (&writer).await {
                assert!(e.is_cancelled());
                // try again
                writer = create_task(q.put(2))?;
                writer.await?;
            }
            assert_eq!(q.get_nowait(), Ok(2));
            assert_eq!(q.qsize(), 0);
            Ok(())
        });
    }

    // QueuePutTests.test_nonblocking_put_exception
    #[test]
    fn test_nonblocking_put_exception() {
        let q = Queue::new(1);
        q.put_nowait(1).unwrap();
        assert_eq!(q.put_nowait(2), Err(Error::QueueFull));
    }

    // QueuePutTests.test_put_cancelled
    #[test]
    fn test_put_cancelled() {
        run(async {
            let q = Queue::new(0);
            let q2 = q.clone();
            let t = create_task(async move {
                q2.put(1).await?;
                Ok(true)
            })?;
            assert_eq!(q.get().await?, 1);
            assert!(t.done());
            assert_eq!(t.result(), Ok(true));
            Ok(())
        });
    }

    // QueuePutTests.test_put_cancelled_race
    #[test]
    fn test_put_cancelled_race() {
        run(async {
            let q = Queue::new(1);
            let put_a = create_task(q.put("a"))?;
            let put_b = create_task(q.put("b"))?;
            let put_c = create_task(q.put("X"))?;
            sleep(0).await?;
            assert!(put_a.done());
            assert!(!put_b.done());
            put_c.cancel();
            sleep(0).await?;
            assert!(put_c.done());
            assert_eq!(q.get_nowait(), Ok("a"));
            sleep(0).await?;
            assert_eq!(q.get_nowait(), Ok("b"));
            put_b.await
        });
    }

    // QueuePutTests.test_put_with_waiting_getters
    #[test]
    fn test_put_with_waiting_getters() {
        run(async {
            let q = Queue::new(0);
            let t = create_task(q.get())?;
            sleep(0).await?;
            q.put("a").await?;
            assert_eq!(t.await?, "a");
            Ok(())
        });
    }

    // QueuePutTests.test_why_are_putters_waiting
    #[test]
    fn test_why_are_putters_waiting() {
        run(async {
            let q = Queue::new(2);
            task_group(|tg| async move {
                let g = q.clone();
                tg.create_task(async move {
                    sleep(0).await?;
                    for _ in 0..g.qsize() {
                        g.get_nowait()?;
                    }
                    Ok(())
                })?;
                for i in 0..4 {
                    tg.create_task(q.put(i))?;
                }
                Ok(())
            })
            .await
        });
    }

    // QueuePutTests.test_cancelled_puts_not_being_held_in_self_putters
    #[test]
    fn test_cancelled_puts_not_being_held_in_self_putters() {
        run(async {
            // Full queue.
            let q = Queue::new(1);
            q.put_nowait(1)?;
            // Task waiting for space to put an item in the queue.
            let put_task = create_task(q.put(1))?;
            sleep(0).await?;
            assert_eq!(
                format!("{q:?}"),
                "<Queue maxsize=1 _queue=[1] _putters[1] tasks=1>"
            );
            put_task.cancel();
            assert!(put_task.await.unwrap_err().is_cancelled());
            assert_eq!(format!("{q:?}"), "<Queue maxsize=1 _queue=[1] tasks=1>");
            Ok(())
        });
    }

    // QueuePutTests.test_cancelled_put_silence_value_error_exception: a putter popped by
    // get_nowait() and then cancelled ends with CancelledError (its removal finds nothing).
    #[test]
    fn test_cancelled_put_silence_value_error_exception() {
        run(async {
            let q = Queue::new(1);
            q.put_nowait(1)?;
            let put_task = create_task(q.put(1))?;
            sleep(0).await?;
            q.get_nowait()?;
            put_task.cancel();
            assert!(put_task.await.unwrap_err().is_cancelled());
            Ok(())
        });
    }
}

mod lifo_queue_tests {
    use super::*;

    // LifoQueueTests.test_order
    #[test]
    fn test_order() {
        run(async {
            let q = LifoQueue::new(0);
            for i in [1, 3, 2] {
                q.put(i).await?;
            }
            let mut items = Vec::new();
            for _ in 0..3 {
                items.push(q.get().await?);
            }
            assert_eq!(items, [2, 3, 1]);
            Ok(())
        });
    }
}

mod priority_queue_tests {
    use super::*;

    // PriorityQueueTests.test_order
    #[test]
    fn test_order() {
        run(async {
            let q = PriorityQueue::new(0);
            for i in [1, 3, 2] {
                q.put(i).await?;
            }
            let mut items = Vec::new();
            for _ in 0..3 {
                items.push(q.get().await?);
            }
            assert_eq!(items, [1, 2, 3]);
            Ok(())
        });
    }
}

/// CPython's `_QueueJoinTestMixin`, run for each of its three classes.
macro_rules! queue_join_tests {
    ($module:ident, $class:literal, $new:expr) => {
        mod $module {
            use super::*;

            fn new_queue() -> Queue<i32> {
                $new
            }

            // _QueueJoinTestMixin.test_task_done_underflow
            #[test]
            fn test_task_done_underflow() {
                assert_eq!(
                    new_queue().task_done(),
                    Err(Error::Value("task_done() called too many times".into()))
                );
            }

            // _QueueJoinTestMixin.test_task_done: two workers process 100 items; join()
            // returns once every item is marked done.
            #[test]
            fn test_task_done() {
                run(async {
                    let q = new_queue();
                    for i in 0..100 {
                        q.put_nowait(i)?;
                    }
                    let accumulator = Rc::new(Cell::new(0));
                    let running = Rc::new(Cell::new(true));
                    task_group(|tg| async move {
                        let mut tasks = Vec::new();
                        for _ in 0..2 {
                            let (q, acc, running) =
                                (q.clone(), accumulator.clone(), running.clone());
                            tasks.push(tg.create_task(async move {
                                while running.get() {
                                    let item = q.get().await?;
                                    acc.set(acc.get() + item);
                                    q.task_done()?;
                                }
                                Ok(())
                            })?);
                        }
                        q.join().await?;
                        assert_eq!(accumulator.get(), (0..100).sum::<i32>());
                        // close running generators
                        running.set(false);
                        for _ in 0..tasks.len() {
                            q.put_nowait(0)?;
                        }
                        Ok(())
                    })
                    .await
                });
            }

            // _QueueJoinTestMixin.test_join_empty_queue
            #[test]
            fn test_join_empty_queue() {
                let (_, t) = run(async {
                    let q = new_queue();
                    q.join().await?;
                    q.join().await
                });
                assert_eq!(t, 0.0);
            }

            // _QueueJoinTestMixin.test_format (two unfinished tasks, made by put and get)
            #[test]
            fn test_format() {
                let q = new_queue();
                assert_eq!(format!("{q:?}"), concat!("<", $class, " maxsize=0>"));
                for i in 0..2 {
                    q.put_nowait(i).unwrap();
                    q.get_nowait().unwrap();
                }
                assert_eq!(
                    format!("{q:?}"),
                    concat!("<", $class, " maxsize=0 tasks=2>")
                );
            }
        }
    };
}

queue_join_tests!(queue_join_tests, "Queue", Queue::new(0));
queue_join_tests!(
    lifo_queue_join_tests,
    "LifoQueue",
    Queue::clone(&LifoQueue::new(0))
);
queue_join_tests!(
    priority_queue_join_tests,
    "PriorityQueue",
    Queue::clone(&PriorityQueue::new(0))
);

/// Rust-only: awaits dropped while they wait, items of cancelled puts, deadlock reports.
mod rust_tests {
    use super::*;

    // Without the drop handling, the second getter would never see item 1.
    #[test]
    fn a_dropped_get_passes_the_item_on() {
        let (_, t) = run(async {
            let q = Queue::new(0);
            let q2 = q.clone();
            get_running_loop()?.call_later(1, move || q2.put_nowait(1).unwrap());
            let q2 = q.clone();
            let dropped =
                create_task(async move { Ok(drop_after(q2.get(), 1.0).await.is_none()) })?;
            let second = create_task(q.get())?;
            assert!(dropped.await?, "the timer wins the tie: the get is dropped");
            assert_eq!(second.await?, 1);
            assert_eq!(format!("{q:?}"), "<Queue maxsize=0 tasks=1>");
            Ok(())
        });
        assert_eq!(t, 1.0);
    }

    #[test]
    fn a_dropped_put_passes_the_free_slot_on() {
        run(async {
            let q = Queue::new(1);
            q.put_nowait(0)?;
            let q2 = q.clone();
            get_running_loop()?.call_later(1, move || assert_eq!(q2.get_nowait(), Ok(0)));
            let q2 = q.clone();
            let dropped =
                create_task(async move { Ok(drop_after(q2.put(1), 1.0).await.is_none()) })?;
            let second = create_task(q.put(2))?;
            assert!(dropped.await?);
            second.await?;
            assert_eq!(format!("{q:?}"), "<Queue maxsize=1 _queue=[2] tasks=2>");
            Ok(())
        });
    }

    #[test]
    fn the_item_of_a_cancelled_put_is_dropped() {
        run(async {
            let q = Queue::new(1);
            q.put_nowait(Rc::new(0))?;
            let item = Rc::new(1);
            let put = create_task(q.put(item.clone()))?;
            sleep(0).await?;
            assert_eq!(Rc::strong_count(&item), 2);
            put.cancel();
            assert!(put.await.unwrap_err().is_cancelled());
            assert_eq!(Rc::strong_count(&item), 1);
            Ok(())
        });
    }

    #[test]
    fn a_subclass_is_a_queue() {
        let lifo = LifoQueue::new(0);
        let as_queue: Queue<i32> = Queue::clone(&lifo);
        as_queue.put_nowait(1).unwrap();
        as_queue.put_nowait(2).unwrap();
        assert_eq!(lifo.get_nowait(), Ok(2));
        assert_eq!(
            format!("{lifo:?}"),
            "<LifoQueue maxsize=0 _queue=[1] tasks=2>"
        );
    }

    #[test]
    fn a_deadlock_report_names_the_get_call() {
        let lp = EventLoop::new();
        let q = Queue::<i32>::new(0);
        let err = lp.run_until_complete(q.get()).unwrap_err();
        let Error::Deadlock(d) = err else {
            panic!("{err:?}")
        };
        let awaiting = d.tasks()[0].awaiting();
        assert!(awaiting.contains("tests/api/queues.rs"), "{awaiting}");
    }
}
