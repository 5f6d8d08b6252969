//! containerd's gRPC API over its unix socket: one channel, the namespace (and, while an
//! upgrade runs, its lease) on every request, a count of requests for the benchmark, and
//! small typed wrappers that name what failed.

use anyhow::{anyhow, bail, Context, Result};
use containerd_client::services::v1::snapshots::{
    snapshots_client::SnapshotsClient, Info as SnapshotInfo, ListSnapshotsRequest, MountsRequest,
    PrepareSnapshotRequest, RemoveSnapshotRequest, StatSnapshotRequest,
};
use containerd_client::services::v1::{
    containers_client::ContainersClient, content_client::ContentClient, diff_client::DiffClient,
    images_client::ImagesClient, leases_client::LeasesClient, tasks_client::TasksClient,
    AddResourceRequest, Container, CreateRequest, CreateTaskRequest, DeleteRequest,
    DeleteTaskRequest, GetContainerRequest, GetImageRequest, GetRequest, Image, KillRequest,
    ListContainersRequest, ReadContentRequest, Resource, StartRequest, UpdateContainerRequest,
    WaitRequest,
};
use containerd_client::tonic::transport::Channel;
use containerd_client::tonic::{Code, Request, Status};
use containerd_client::types::v1::Process;
use containerd_client::types::Mount;
use std::cell::Cell;
use std::collections::HashMap;

/// The header containerd reads the namespace from.
const NAMESPACE_HEADER: &str = "containerd-namespace";
/// The header that puts what a request creates under a lease.
const LEASE_HEADER: &str = "containerd-lease";

pub struct Client {
    channel: Channel,
    namespace: String,
    lease: Option<String>,
    requests: Cell<u64>,
}

/// gRPC's NotFound, for "is it there?" questions.
pub fn not_found(e: &anyhow::Error) -> bool {
    e.downcast_ref::<Status>()
        .is_some_and(|s| s.code() == Code::NotFound)
}

impl Client {
    pub async fn connect(address: &str, namespace: &str) -> Result<Client> {
        let path = address.strip_prefix("unix://").unwrap_or(address);
        if !std::path::Path::new(path).exists() {
            bail!("containerd's socket {path} does not exist; is containerd running? (--address or CONTAINERD_ADDRESS)");
        }
        let channel = containerd_client::connect(path)
            .await
            .with_context(|| format!("cannot connect to containerd at {path}"))?;
        Ok(Client {
            channel,
            namespace: namespace.to_string(),
            lease: None,
            requests: Cell::new(0),
        })
    }

    /// How many requests were sent.
    pub fn requests(&self) -> u64 {
        self.requests.get()
    }

    pub fn set_lease(&mut self, lease: Option<String>) {
        self.lease = lease;
    }

    fn req<T>(&self, msg: T) -> Result<Request<T>> {
        self.requests.set(self.requests.get() + 1);
        let mut req = Request::new(msg);
        let md = req.metadata_mut();
        md.insert(
            NAMESPACE_HEADER,
            self.namespace.parse().map_err(|_| {
                anyhow!("namespace {:?} is not a valid header value", self.namespace)
            })?,
        );
        if let Some(lease) = &self.lease {
            md.insert(
                LEASE_HEADER,
                lease
                    .parse()
                    .map_err(|_| anyhow!("lease {lease:?} is not a valid header value"))?,
            );
        }
        Ok(req)
    }

    fn containers(&self) -> ContainersClient<Channel> {
        ContainersClient::new(self.channel.clone())
    }
    fn tasks(&self) -> TasksClient<Channel> {
        TasksClient::new(self.channel.clone())
    }
    fn snapshots(&self) -> SnapshotsClient<Channel> {
        SnapshotsClient::new(self.channel.clone())
    }
    pub fn content(&self) -> ContentClient<Channel> {
        ContentClient::new(self.channel.clone())
    }
    pub fn diff(&self) -> DiffClient<Channel> {
        DiffClient::new(self.channel.clone())
    }
    fn leases(&self) -> LeasesClient<Channel> {
        LeasesClient::new(self.channel.clone())
    }

    /// A request for a service client the caller drives itself (unpacking).
    pub fn request<T>(&self, msg: T) -> Result<Request<T>> {
        self.req(msg)
    }

    pub async fn container(&self, id: &str) -> Result<Container> {
        let resp = self
            .containers()
            .get(self.req(GetContainerRequest { id: id.into() })?)
            .await
            .map_err(anyhow::Error::from)?;
        resp.into_inner()
            .container
            .ok_or_else(|| anyhow!("containerd returned no container {id}"))
    }

    pub async fn list_containers(&self) -> Result<Vec<Container>> {
        let resp = self
            .containers()
            .list(self.req(ListContainersRequest { filters: vec![] })?)
            .await?;
        Ok(resp.into_inner().containers)
    }

    /// Replace the listed fields of the container record in one transaction.
    pub async fn update_container(
        &self,
        container: Container,
        paths: &[&str],
    ) -> Result<Container> {
        let mask = prost_types::FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        };
        let resp = self
            .containers()
            .update(self.req(UpdateContainerRequest {
                container: Some(container),
                update_mask: Some(mask),
            })?)
            .await?;
        resp.into_inner()
            .container
            .ok_or_else(|| anyhow!("containerd returned no container after the update"))
    }

    pub async fn image(&self, name: &str) -> Result<Image> {
        let resp = self.images_get(name).await?;
        resp.ok_or_else(|| anyhow!("containerd returned no image {name}"))
    }

    async fn images_get(&self, name: &str) -> Result<Option<Image>> {
        let mut client = ImagesClient::new(self.channel.clone());
        let resp = client
            .get(self.req(GetImageRequest { name: name.into() })?)
            .await?;
        Ok(resp.into_inner().image)
    }

    /// A whole blob from the content store.
    pub async fn read_blob(&self, digest: &str) -> Result<Vec<u8>> {
        let mut stream = self
            .content()
            .read(self.req(ReadContentRequest {
                digest: digest.into(),
                offset: 0,
                size: 0,
            })?)
            .await?
            .into_inner();
        let mut data = Vec::new();
        while let Some(chunk) = stream.message().await? {
            data.extend_from_slice(&chunk.data);
        }
        Ok(data)
    }

    pub async fn snapshot_exists(&self, snapshotter: &str, key: &str) -> Result<bool> {
        Ok(self.snapshot_info(snapshotter, key).await?.is_some())
    }

    /// A snapshot's info (parent, kind, labels); None if there is no such snapshot.
    pub async fn snapshot_info(
        &self,
        snapshotter: &str,
        key: &str,
    ) -> Result<Option<SnapshotInfo>> {
        match self
            .snapshots()
            .stat(self.req(StatSnapshotRequest {
                snapshotter: snapshotter.into(),
                key: key.into(),
            })?)
            .await
        {
            Ok(resp) => Ok(resp.into_inner().info),
            Err(s) if s.code() == Code::NotFound => Ok(None),
            Err(s) => Err(s.into()),
        }
    }

    /// Every snapshot of `snapshotter` in the namespace.
    pub async fn list_snapshots(&self, snapshotter: &str) -> Result<Vec<SnapshotInfo>> {
        let mut stream = self
            .snapshots()
            .list(self.req(ListSnapshotsRequest {
                snapshotter: snapshotter.into(),
                filters: Vec::new(),
            })?)
            .await?
            .into_inner();
        let mut all = Vec::new();
        while let Some(resp) = stream.message().await? {
            all.extend(resp.info);
        }
        Ok(all)
    }

    pub async fn prepare_snapshot(
        &self,
        snapshotter: &str,
        key: &str,
        parent: &str,
        labels: HashMap<String, String>,
    ) -> Result<Vec<Mount>> {
        let resp = self
            .snapshots()
            .prepare(self.req(PrepareSnapshotRequest {
                snapshotter: snapshotter.into(),
                key: key.into(),
                parent: parent.into(),
                labels,
            })?)
            .await?;
        Ok(resp.into_inner().mounts)
    }

    pub async fn snapshot_mounts(&self, snapshotter: &str, key: &str) -> Result<Vec<Mount>> {
        let resp = self
            .snapshots()
            .mounts(self.req(MountsRequest {
                snapshotter: snapshotter.into(),
                key: key.into(),
            })?)
            .await?;
        Ok(resp.into_inner().mounts)
    }

    /// Remove a snapshot; one that is already gone is fine.
    pub async fn remove_snapshot(&self, snapshotter: &str, key: &str) -> Result<()> {
        match self
            .snapshots()
            .remove(self.req(RemoveSnapshotRequest {
                snapshotter: snapshotter.into(),
                key: key.into(),
            })?)
            .await
        {
            Ok(_) => Ok(()),
            Err(s) if s.code() == Code::NotFound => Ok(()),
            Err(s) => Err(anyhow::Error::from(s).context(format!("cannot remove snapshot {key}"))),
        }
    }

    pub async fn commit_snapshot(&self, snapshotter: &str, name: &str, key: &str) -> Result<()> {
        use containerd_client::services::v1::snapshots::CommitSnapshotRequest;
        self.snapshots()
            .commit(self.req(CommitSnapshotRequest {
                snapshotter: snapshotter.into(),
                name: name.into(),
                key: key.into(),
                labels: HashMap::new(),
            })?)
            .await?;
        Ok(())
    }

    /// Create a lease labelled as ours, with `extra` labels: Ok(false) if one with that id
    /// exists already.
    pub async fn create_lease(&self, id: &str, extra: HashMap<String, String>) -> Result<bool> {
        let mut labels = extra;
        labels.insert("io.rich-init.upgrade".to_string(), "true".to_string());
        match self
            .leases()
            .create(self.req(CreateRequest {
                id: id.into(),
                labels,
            })?)
            .await
        {
            Ok(_) => Ok(true),
            Err(s) if s.code() == Code::AlreadyExists => Ok(false),
            Err(s) => Err(s.into()),
        }
    }

    pub async fn lease_add(&self, lease: &str, id: &str, kind: &str) -> Result<()> {
        self.leases()
            .add_resource(self.req(AddResourceRequest {
                id: lease.into(),
                resource: Some(Resource {
                    id: id.into(),
                    r#type: kind.into(),
                }),
            })?)
            .await?;
        Ok(())
    }

    /// The ids and labels of the leases upgrade-helper made (labelled
    /// io.rich-init.upgrade=true).
    pub async fn upgrade_leases(&self) -> Result<Vec<(String, HashMap<String, String>)>> {
        use containerd_client::services::v1::ListRequest;
        let resp = self
            .leases()
            .list(self.req(ListRequest {
                filters: vec!["labels.\"io.rich-init.upgrade\"==true".into()],
            })?)
            .await?;
        Ok(resp
            .into_inner()
            .leases
            .into_iter()
            .map(|l| (l.id, l.labels))
            .collect())
    }

    /// Delete a lease; one that is already gone is fine.
    pub async fn delete_lease(&self, id: &str) -> Result<()> {
        match self
            .leases()
            .delete(self.req(DeleteRequest {
                id: id.into(),
                sync: false,
            })?)
            .await
        {
            Ok(_) => Ok(()),
            Err(s) if s.code() == Code::NotFound => Ok(()),
            Err(s) => Err(s.into()),
        }
    }

    /// The container's task, if it has one.
    pub async fn task(&self, id: &str) -> Result<Option<Process>> {
        match self
            .tasks()
            .get(self.req(GetRequest {
                container_id: id.into(),
                exec_id: String::new(),
            })?)
            .await
        {
            Ok(resp) => Ok(resp.into_inner().process),
            Err(s) if s.code() == Code::NotFound => Ok(None),
            Err(s) => Err(s.into()),
        }
    }

    pub async fn create_task(&self, req: CreateTaskRequest) -> Result<u32> {
        let resp = self.tasks().create(self.req(req)?).await?;
        Ok(resp.into_inner().pid)
    }

    pub async fn start(&self, id: &str, exec_id: &str) -> Result<u32> {
        let resp = self
            .tasks()
            .start(self.req(StartRequest {
                container_id: id.into(),
                exec_id: exec_id.into(),
            })?)
            .await?;
        Ok(resp.into_inner().pid)
    }

    pub async fn kill(&self, id: &str, exec_id: &str, signal: u32, all: bool) -> Result<()> {
        match self
            .tasks()
            .kill(self.req(KillRequest {
                container_id: id.into(),
                exec_id: exec_id.into(),
                signal,
                all,
            })?)
            .await
        {
            Ok(_) => Ok(()),
            // Already gone.
            Err(s) if s.code() == Code::NotFound => Ok(()),
            Err(s) => Err(s.into()),
        }
    }

    /// Wait for the process to exit: its exit status.
    pub async fn wait(&self, id: &str, exec_id: &str) -> Result<u32> {
        let resp = self
            .tasks()
            .wait(self.req(WaitRequest {
                container_id: id.into(),
                exec_id: exec_id.into(),
            })?)
            .await?;
        Ok(resp.into_inner().exit_status)
    }

    /// Delete the task; one that is already gone is fine.
    pub async fn delete_task(&self, id: &str) -> Result<()> {
        match self
            .tasks()
            .delete(self.req(DeleteTaskRequest {
                container_id: id.into(),
            })?)
            .await
        {
            Ok(_) => Ok(()),
            Err(s) if s.code() == Code::NotFound => Ok(()),
            Err(s) => Err(s.into()),
        }
    }

    pub async fn exec(
        &self,
        req: containerd_client::services::v1::ExecProcessRequest,
    ) -> Result<()> {
        self.tasks().exec(self.req(req)?).await?;
        Ok(())
    }

    pub async fn delete_process(&self, id: &str, exec_id: &str) -> Result<()> {
        use containerd_client::services::v1::DeleteProcessRequest;
        match self
            .tasks()
            .delete_process(self.req(DeleteProcessRequest {
                container_id: id.into(),
                exec_id: exec_id.into(),
            })?)
            .await
        {
            Ok(_) => Ok(()),
            Err(s) if s.code() == Code::NotFound => Ok(()),
            Err(s) => Err(s.into()),
        }
    }
}
